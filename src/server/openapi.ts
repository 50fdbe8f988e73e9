import { Router } from 'express';
import { API_LIMITS, BODY_FIELDS } from '../loadgen/api-limits.js';
import { COLLECTORS } from '../collect/snapshot.js';
import { TRANSPORT_ERROR_CODES } from '../util/errors.js';
import { HISTORY_METRICS } from './history-routes.js';

/**
 * The OpenAPI 3.1 description of every HTTP endpoint of the exporter (served at /api/v1/openapi.json).
 * Schemas are JSON Schema 2020-12 and strict (additionalProperties: false) wherever the shape is ours, so the
 * validation test notices when a handler and this document drift apart.
 */

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const int: Schema = { type: 'integer' };
const num: Schema = { type: 'number' };
const bool: Schema = { type: 'boolean' };
const time: Schema = { type: 'string', format: 'date-time' };
const orNull = (s: Schema): Schema => ({ anyOf: [s, { type: 'null' }] });
const arr = (items: Schema): Schema => ({ type: 'array', items });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const stringMap: Schema = { type: 'object', additionalProperties: str };
/** A failed collector's stable code (etcd_monitor_collector_errors_total's `code` label). */
const errorCode: Schema = {
  type: 'string',
  description: `Stable error code: ${Object.keys(TRANSPORT_ERROR_CODES).join(', ')}; or METRICS_PARSE / PROTOBUF_INVALID for an answer that did not parse.`,
};

/** An object schema where every listed property is required unless named in `optional`. */
function obj(properties: Record<string, Schema>, optional: string[] = [], extra = false): Schema {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    additionalProperties: extra,
  };
}

const json = (schema: Schema, description: string): Schema => ({
  description,
  content: { 'application/json': { schema } },
});
const err = (description: string): Schema => json(ref('Error'), description);

const clusterParam = {
  name: 'cluster',
  in: 'query',
  required: false,
  description: 'Cluster name (default: the first configured cluster).',
  schema: str,
};
const viewErrors = {
  '400': err('A query parameter is malformed.'),
  '404': err('No cluster with that name.'),
  '503': err('The first collection round has not finished yet.'),
};
const authErrors = {
  '401': err('Credentials are missing or wrong (only when the web config defines users or tokens).'),
  '403': err("The caller's role may not do this (reads need viewer, changes need operator)."),
  '429': err('Too many password checks queued (AUTH_BUSY); retry after the Retry-After seconds.'),
};
/** What the mutation guard (src/server/security/mutation-guard.ts) answers before any handler runs. */
const mutationErrors = {
  '403': err(
    'Role below operator, or an Origin header not in --cors-origin (ORIGIN_NOT_ALLOWED): browser pages may not mutate.',
  ),
  '415': err('Not application/json (UNSUPPORTED_MEDIA_TYPE).'),
};
const benchmarkOff = {
  '403': err(
    'Role below operator, or the benchmark API is off (BENCHMARK_API_DISABLED; start with --web.enable-benchmark-api).',
  ),
};
const ms = orNull(num);
const pageLimit = {
  name: 'limit',
  in: 'query',
  required: false,
  description: 'Page size (default 100).',
  schema: { type: 'integer', minimum: 1, maximum: 1000 },
};
const pageBefore = {
  name: 'before',
  in: 'query',
  required: false,
  description: "Only items with a seq below this: the previous page's nextBefore.",
  schema: { type: 'integer', minimum: 1 },
};

const alertEvent = obj(
  {
    seq: int,
    receivedAt: time,
    receiver: str,
    groupKey: str,
    status: { enum: ['firing', 'resolved'] },
    alertname: str,
    cluster: str,
    severity: str,
    member: str,
    labels: stringMap,
    annotations: stringMap,
    startsAt: str,
    endsAt: str,
    generatorURL: str,
    fingerprint: str,
  },
  ['member'],
);

const schemas: Record<string, Schema> = {
  Error: obj({ error: obj({ code: str, message: str }) }),
  ClusterStatus: obj({
    cluster: str,
    healthy: bool,
    leader_id: orNull(str),
    member_count: int,
    members_healthy: int,
    members_available: int,
    quorum_size: int,
    quorum_available: bool,
    failure_tolerance: int,
    has_leader: bool,
    split_brain: bool,
    stale_leader: bool,
    leader_changes: int,
    leader_changes_last_hour: int,
    last_leader_change: orNull(time),
    network_partition: bool,
    partition_reasons: arr({
      enum: [
        'leader_disagreement',
        'term_disagreement',
        'member_without_leader',
        'unreachable_but_peers_connected',
        'peer_stream_down',
      ],
    }),
    alarms: arr(obj({ member: str, type: { enum: ['NOSPACE', 'CORRUPT'] } })),
    last_check: orNull(time),
  }),
  Leader: obj({
    cluster: str,
    has_leader: bool,
    leader_id: orNull(str),
    leader_name: orNull(str),
    endpoint: orNull(str),
    raft_term: orNull(int),
    leader_changes: int,
    last_leader_change: orNull(time),
  }),
  LeaderHistory: obj({
    cluster: str,
    count: int,
    nextBefore: orNull(int),
    persistent: bool,
    changes: arr(
      obj({
        seq: int,
        at: time,
        cluster: str,
        previousLeaderId: orNull(str),
        previousLeader: orNull(str),
        leaderId: str,
        leader: orNull(str),
        term: int,
      }),
    ),
  }),
  Members: obj({
    cluster: str,
    members: arr(
      obj({
        id: orNull(str),
        name: str,
        endpoint: str,
        up: bool,
        healthy: bool,
        health_state: { enum: ['healthy', 'slow', 'unreachable', 'unhealthy', 'down'] },
        health_reason: str,
        is_leader: bool,
        is_learner: bool,
        version: orNull(str),
        raft_term: orNull(int),
        raft_index: orNull(int),
        raft_applied_index: orNull(int),
        revision: orNull(int),
        db_size: orNull(int),
        db_size_in_use: orNull(int),
        alarms: arr({ enum: ['NOSPACE', 'CORRUPT'] }),
        last_error: orNull(
          obj({ collector: { enum: [...COLLECTORS] }, code: errorCode, message: str, at: time }),
        ),
        collectors: obj(
          Object.fromEntries(
            COLLECTORS.map((c) => [
              c,
              obj({ ok: bool, code: errorCode, message: str, at: time, errors_total: int }, [
                'code',
                'message',
              ]),
            ]),
          ),
          [...COLLECTORS],
        ),
      }),
    ),
  }),
  CurrentMetrics: obj({
    cluster: str,
    timestamp: orNull(time),
    request_rate: num,
    error_rate: num,
    read_latency_p50: ms,
    read_latency_p95: ms,
    read_latency_p99: ms,
    write_latency_p50: ms,
    write_latency_p95: ms,
    write_latency_p99: ms,
    db_size: orNull(int),
    db_size_in_use: orNull(int),
    latency_unit: { const: 'ms' },
  }),
  Latency: obj({
    cluster: str,
    timestamp: orNull(time),
    unit: { const: 'ms' },
    max_latency_ms: num,
    above_max_latency: bool,
    read: obj({ p50: ms, p95: ms, p99: ms }),
    write: obj({ p50: ms, p95: ms, p99: ms }),
    members: arr(obj({ name: str, wal_fsync_p99: ms, backend_commit_p99: ms, peer_round_trip_p99: ms })),
  }),
  MetricsHistory: obj({
    metric: { enum: Object.keys(HISTORY_METRICS) },
    unit: str,
    cluster: orNull(str),
    start: time,
    end: time,
    step_seconds: num,
    query: { type: 'string', description: 'The PromQL sent to Prometheus.' },
    series: arr(
      obj({
        cluster: orNull(str),
        points: arr({ type: 'array', prefixItems: [num, orNull(num)], minItems: 2, maxItems: 2 }),
      }),
    ),
  }),
  AlertEvent: alertEvent,
  BenchmarkStarted: obj({ id: str, status: { const: 'running' }, startedAt: time }),
  BenchmarkRunning: obj({ id: str, status: { const: 'running' }, startedAt: time, completedCalls: int }),
  BenchmarkFinished: obj(
    {
      id: str,
      status: { enum: ['completed', 'failed'] },
      request: {},
      // The full report (conditions, latency, per-operation results, SLO verdict): BenchmarkResult in src/loadgen/result.ts.
      result: {
        type: 'object',
        required: [
          'type',
          'startedAt',
          'finishedAt',
          'total',
          'successful',
          'failed',
          'throughput',
          'latency',
          'slo',
        ],
        properties: { throughput: num, total: int, successful: int, failed: int },
      },
      error: obj({ code: str, message: str }),
    },
    ['request', 'result', 'error'],
  ),
};

const paths: Record<string, Schema> = {
  '/health': {
    get: {
      summary: 'Liveness of the exporter process (never of etcd). Always open.',
      responses: { '200': json(obj({ status: { const: 'ok' } }), 'The process serves requests.') },
    },
  },
  '/ready': {
    get: {
      summary: 'Readiness: every cluster has completed its first collection round. Always open.',
      responses: {
        '200': json(obj({ status: { const: 'ready' }, clusters: arr(str) }), 'Ready.'),
        '503': err('Not ready yet.'),
      },
    },
  },
  '/metrics': {
    get: {
      summary: 'Prometheus exposition of the derived cluster health and the re-exposed member series.',
      description:
        'Needs viewer when the web config defines users or tokens, unless it sets etcd_monitor.metrics_auth: false.',
      responses: {
        '200': { description: 'Prometheus text format 0.0.4.', content: { 'text/plain': { schema: str } } },
        ...authErrors,
      },
    },
  },
  '/api/v1/openapi.json': {
    get: {
      summary: 'This document.',
      responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document.'), ...authErrors },
    },
  },
  '/api/v1/clusters': {
    get: {
      summary: 'Configured clusters with a one-line health verdict.',
      responses: {
        '200': json(
          obj({
            clusters: arr(
              obj({
                name: str,
                endpoints: arr(str),
                tags: stringMap,
                healthy: orNull(bool),
                members: orNull(int),
              }),
            ),
          }),
          'Clusters.',
        ),
        ...authErrors,
      },
    },
  },
  '/api/v1/cluster/status': {
    get: {
      summary: 'Derived health of one cluster: quorum, leadership, partitions, alarms.',
      parameters: [clusterParam],
      responses: { '200': json(ref('ClusterStatus'), 'Status.'), ...viewErrors, ...authErrors },
    },
  },
  '/api/v1/cluster/leader': {
    get: {
      summary: 'The current leader and leader-change history.',
      parameters: [clusterParam],
      responses: { '200': json(ref('Leader'), 'Leader.'), ...viewErrors, ...authErrors },
    },
  },
  '/api/v1/cluster/leader/history': {
    get: {
      summary:
        'Leader changes of the cluster, newest first (time, previous and new leader, term); the last 1000 of all clusters, kept under --data-dir across restarts. A restart of the exporter is not a change.',
      parameters: [clusterParam, pageLimit, pageBefore],
      responses: {
        '200': json(ref('LeaderHistory'), 'Leader changes.'),
        '400': err('A query parameter is malformed.'),
        '404': err('No cluster with that name.'),
        ...authErrors,
      },
    },
  },
  '/api/v1/cluster/members': {
    get: {
      summary: 'Every member with its health, raft position and DB size.',
      parameters: [clusterParam],
      responses: { '200': json(ref('Members'), 'Members.'), ...viewErrors, ...authErrors },
    },
  },
  '/api/v1/metrics/current': {
    get: {
      summary: 'Current request rate, probe latency percentiles (ms) and DB size.',
      parameters: [clusterParam],
      responses: { '200': json(ref('CurrentMetrics'), 'Current metrics.'), ...viewErrors, ...authErrors },
    },
  },
  '/api/v1/metrics/latency': {
    get: {
      summary: 'Probe latency percentiles and per-member disk/network p99s (ms).',
      parameters: [clusterParam],
      responses: { '200': json(ref('Latency'), 'Latency.'), ...viewErrors, ...authErrors },
    },
  },
  '/api/v1/metrics/history': {
    get: {
      summary: 'A named series over time, answered by the Prometheus given with --prometheus-url.',
      parameters: [
        { name: 'metric', in: 'query', required: true, schema: { enum: Object.keys(HISTORY_METRICS) } },
        { ...clusterParam, description: 'Only this cluster (default: all).' },
        {
          name: 'start',
          in: 'query',
          required: false,
          description: 'RFC 3339 or Unix seconds; default end − 1h.',
          schema: str,
        },
        {
          name: 'end',
          in: 'query',
          required: false,
          description: 'RFC 3339 or Unix seconds; default now.',
          schema: str,
        },
        {
          name: 'step',
          in: 'query',
          required: false,
          description: 'Duration such as 15s or 1m; at least 1s.',
          schema: str,
        },
      ],
      responses: {
        '200': json(ref('MetricsHistory'), 'Series.'),
        '400': err('Bad or unknown parameter, or more than 11,000 points.'),
        ...authErrors,
        '502': err('Prometheus failed or rejected the query.'),
        '503': err('No --prometheus-url configured.'),
      },
    },
  },
  '/api/v1/alerts': {
    get: {
      summary:
        'Alerts firing now, as last notified by Alertmanager, newest first and paged. An alert not re-sent within --alerts.resolve-timeout (5m) is no longer listed; at most 10,000 are kept.',
      parameters: [
        { ...clusterParam, description: 'Only this cluster.' },
        { name: 'alertname', in: 'query', required: false, schema: str },
        pageLimit,
        pageBefore,
      ],
      responses: {
        '200': json(
          obj({ count: int, total: int, nextBefore: orNull(int), alerts: arr(ref('AlertEvent')) }),
          'One page of firing alerts; total counts all that match.',
        ),
        '400': err('Bad parameter.'),
        ...authErrors,
      },
    },
  },
  '/api/v1/alerts/history': {
    get: {
      summary: 'Alert notifications received, newest first.',
      parameters: [
        { ...clusterParam, description: 'Only this cluster.' },
        { name: 'alertname', in: 'query', required: false, schema: str },
        pageLimit,
        pageBefore,
      ],
      responses: {
        '200': json(
          obj({
            count: int,
            capacity: int,
            nextBefore: orNull(int),
            persistent: bool,
            corruptLinesSkipped: int,
            writeFailures: int,
            events: arr(ref('AlertEvent')),
          }),
          'History.',
        ),
        '400': err('Bad parameter.'),
        ...authErrors,
      },
    },
  },
  '/api/v1/alerts/webhook': {
    post: {
      summary: 'Alertmanager webhook receiver (webhook_configs url). Needs operator.',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: { type: 'object', description: 'Alertmanager webhook payload, version 4.' },
          },
        },
      },
      responses: {
        '200': json(
          obj(
            {
              status: { const: 'ok' },
              recorded: int,
              refreshed: int,
              ignored: int,
              persisted: bool,
              warning: str,
            },
            ['warning'],
          ),
          "On disk (written and fsync'd): recorded = new events, refreshed = repeats of firing alerts, ignored = watchdogs. With no usable --data-dir: persisted false and a warning (memory only).",
        ),
        '400': err('Malformed JSON or not a valid Alertmanager payload (at most 10,000 alerts).'),
        ...authErrors,
        ...mutationErrors,
        '413': err('Body larger than 5 MiB (BODY_TOO_LARGE).'),
        '503': err(
          'The history could not be written (HISTORY_WRITE_FAILED, e.g. a full disk) or too many notifications at once (BUSY): Alertmanager retries.',
        ),
      },
    },
  },
  '/api/v1/performance/benchmark': {
    post: {
      summary:
        'Start a bounded benchmark run (one at a time). Off unless --web.enable-benchmark-api; needs operator.',
      requestBody: {
        required: false,
        content: {
          'application/json': {
            schema: obj(
              {
                type: { enum: ['write', 'read', 'mixed'] },
                ops: { type: 'integer', minimum: 1, maximum: API_LIMITS.maxOps },
                durationSeconds: {
                  type: 'number',
                  exclusiveMinimum: 0,
                  maximum: API_LIMITS.maxDurationMs / 1000,
                },
                clients: { type: 'integer', minimum: 1, maximum: API_LIMITS.maxClients },
                conns: { type: 'integer', minimum: 1, maximum: API_LIMITS.maxConns },
                keySize: { type: 'integer', minimum: 1, maximum: API_LIMITS.maxKeySize },
                valSize: { type: 'integer', minimum: 1, maximum: API_LIMITS.maxValSize },
                keySpace: { type: 'integer', minimum: 1, maximum: API_LIMITS.maxKeySpace },
                consistency: { enum: ['l', 's'] },
                rate: { type: 'number', exclusiveMinimum: 0 },
                cluster: str,
                // Must hold no keys (409 otherwise); default /etcd-monitor/bench/<run-id>/.
                prefix: { type: 'string', minLength: 1, maxLength: API_LIMITS.maxPrefixBytes },
                // Cluster-wide: removes every key's history, so only when given as true.
                compact: { type: 'boolean', default: false },
              },
              [...BODY_FIELDS],
            ),
          },
        },
      },
      responses: {
        '202': json(ref('BenchmarkStarted'), 'Started; poll the Location.'),
        '400': err('Malformed JSON, unknown field or out-of-range value.'),
        ...authErrors,
        ...mutationErrors,
        ...benchmarkOff,
        '404': err('Unknown cluster.'),
        '409': err('Another benchmark is running, or the given prefix holds keys (BENCH_PREFIX_NOT_EMPTY).'),
        '413': err('Body larger than 4 kB.'),
      },
    },
    get: {
      summary: 'The running benchmark (if any) and a comparison of recent runs. Needs operator.',
      responses: {
        '200': json(
          obj({
            running: orNull(obj({ id: str, startedAt: time })),
            comparison: arr(
              obj({
                id: str,
                type: str,
                finishedAt: time,
                throughput: num,
                p99Ms: num,
                failed: int,
                sloPassed: bool,
                throughputChange: orNull(num),
                p99Change: orNull(num),
              }),
            ),
          }),
          'Benchmarks.',
        ),
        ...authErrors,
        ...benchmarkOff,
      },
    },
  },
  '/api/v1/performance/benchmark/{id}': {
    get: {
      summary: 'Status or result of one benchmark run. Needs operator.',
      parameters: [{ name: 'id', in: 'path', required: true, schema: str }],
      responses: {
        '200': json({ oneOf: [ref('BenchmarkRunning'), ref('BenchmarkFinished')] }, 'Run.'),
        ...authErrors,
        ...benchmarkOff,
        '404': err('No run with that id.'),
      },
    },
  },
};

/** The document itself. */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  info: {
    title: 'etcd-monitor',
    version: '1',
    description:
      'REST API of the etcd-monitor exporter. Errors are always {"error": {"code", "message"}}. With a web config ' +
      'that defines users or tokens, everything but /health and /ready needs credentials: reads the viewer role, ' +
      'changes and the benchmark API the operator role. POST/PUT/DELETE accept only application/json and refuse ' +
      'an Origin not listed in --cors-origin.',
  },
  components: {
    schemas,
    securitySchemes: {
      basic: { type: 'http', scheme: 'basic' },
      bearer: { type: 'http', scheme: 'bearer' },
    },
  },
  security: [{}, { basic: [] }, { bearer: [] }],
  paths,
} as const;

/** GET /openapi.json (mount under /api/v1). */
export function createOpenApiRoutes(): Router {
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI_DOCUMENT);
  });
  return router;
}
