import {
  arr,
  authErrors,
  bool,
  err,
  int,
  json,
  mutationErrors,
  num,
  obj,
  orNull,
  ref,
  str,
  time,
  type ApiDescription,
} from '../http/openapi-schema.js';
import { API_LIMITS, BODY_FIELDS } from './api-limits.js';

/**
 * OpenAPI description of the routes in ./api-routes.ts. It imports only ./api-limits.ts: the document is
 * built at exporter start-up, and the benchmark engine (load.ts and hdr-histogram) is loaded only when the
 * API is first used. For that reason the workload names are spelled out here; test/server/openapi.test.ts
 * checks them against WORKLOADS in ./load.ts.
 */

/** What app.ts answers for /api/v1/performance/* without --web.enable-benchmark-api. */
const benchmarkOff = {
  '403': err(
    'Role below operator, or the benchmark API is off (BENCHMARK_API_DISABLED; start with --web.enable-benchmark-api).',
  ),
};

const schemas = {
  BenchmarkStarted: obj({ id: str, status: { const: 'running' }, startedAt: time }),
  BenchmarkRunning: obj({ id: str, status: { const: 'running' }, startedAt: time, completedCalls: int }),
  BenchmarkFinished: obj(
    {
      id: str,
      status: { enum: ['completed', 'failed'] },
      request: {},
      // The full report (conditions, latency, per-operation results, SLO verdict): BenchmarkResult of this folder.
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
        properties: {
          throughput: num,
          total: int,
          successful: int,
          failed: int,
          // Members that did not answer before the run and carried no load (run.ts benchTargets).
          membersLeftOut: {
            type: 'array',
            items: {
              type: 'object',
              required: ['endpoint', 'code', 'error'],
              properties: { name: str, id: str, endpoint: str, code: str, error: str },
            },
          },
        },
      },
      error: obj({ code: str, message: str }),
    },
    ['request', 'result', 'error'],
  ),
};

/** The body of POST /performance/benchmark, bounded by API_LIMITS; every field optional. */
const benchmarkRequest = obj(
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
);

export const benchmarkApi: ApiDescription = {
  schemas,
  paths: {
    '/api/v1/performance/benchmark': {
      post: {
        summary:
          'Start a bounded benchmark run (one at a time). Off unless --web.enable-benchmark-api; needs operator.',
        requestBody: { required: false, content: { 'application/json': { schema: benchmarkRequest } } },
        responses: {
          '202': json(ref('BenchmarkStarted'), 'Started; poll the Location.'),
          '400': err('Malformed JSON, unknown field or out-of-range value.'),
          ...authErrors,
          ...mutationErrors,
          ...benchmarkOff,
          '404': err('Unknown cluster.'),
          '409': err(
            'Another benchmark is running, or the given prefix holds keys (BENCH_PREFIX_NOT_EMPTY).',
          ),
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
                  // The cluster the run went to (the first configured one when the request named none).
                  cluster: orNull(str),
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
  },
};
