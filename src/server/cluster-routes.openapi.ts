import { COLLECTORS } from '../collect/snapshot.js';
import { HEALTH_STATES } from '../derive/health-state.js';
import { PARTITION_REASONS } from '../derive/partition.js';
import { ALARM_TYPES } from '../etcd/types.js';
import {
  arr,
  authErrors,
  bool,
  clusterParam,
  err,
  int,
  json,
  num,
  obj,
  orNull,
  ref,
  str,
  stringMap,
  time,
  type ApiDescription,
  type Schema,
} from '../http/openapi-schema.js';
import { TRANSPORT_ERROR_CODES } from '../util/errors.js';

/** OpenAPI description of the routes in ./cluster-routes.ts (the derived state of each cluster). */

/** A failed collector's stable code (etcd_monitor_collector_errors_total's `code` label). */
const errorCode: Schema = {
  type: 'string',
  description: `Stable error code: ${Object.keys(TRANSPORT_ERROR_CODES).join(', ')}; or METRICS_PARSE / PROTOBUF_INVALID for an answer that did not parse.`,
};
/** What selectView answers before the handler's own work. */
const viewErrors = {
  '400': err('A query parameter is malformed.'),
  '404': err('No cluster with that name.'),
  '503': err('The first collection round has not finished yet.'),
};
const ms = orNull(num);
const alarm: Schema = { enum: [...ALARM_TYPES] };

const schemas: Record<string, Schema> = {
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
    partition_reasons: arr({ enum: [...PARTITION_REASONS] }),
    alarms: arr(obj({ member: str, type: alarm })),
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
  Members: obj({
    cluster: str,
    members: arr(
      obj({
        id: orNull(str),
        name: str,
        endpoint: str,
        up: bool,
        healthy: bool,
        health_state: { enum: [...HEALTH_STATES] },
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
        // etcd_server_quota_backend_bytes and db_size / quota (NOSPACE at 1); null until metrics were read.
        db_quota: orNull(int),
        db_quota_usage_ratio: orNull(num),
        alarms: arr(alarm),
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
};

/** GET of one cluster's derived view, selected by ?cluster=. */
const viewRoute = (summary: string, schema: string, description: string): Schema => ({
  get: {
    summary,
    parameters: [clusterParam],
    responses: { '200': json(ref(schema), description), ...viewErrors, ...authErrors },
  },
});

export const clusterApi: ApiDescription = {
  schemas,
  paths: {
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
    '/api/v1/cluster/status': viewRoute(
      'Derived health of one cluster: quorum, leadership, partitions, alarms.',
      'ClusterStatus',
      'Status.',
    ),
    '/api/v1/cluster/leader': viewRoute('The current leader and leader-change history.', 'Leader', 'Leader.'),
    '/api/v1/cluster/members': viewRoute(
      'Every member with its health, raft position and DB size.',
      'Members',
      'Members.',
    ),
    '/api/v1/metrics/current': viewRoute(
      'Current request rate, probe latency percentiles (ms) and DB size.',
      'CurrentMetrics',
      'Current metrics.',
    ),
    '/api/v1/metrics/latency': viewRoute(
      'Probe latency percentiles and per-member disk/network p99s (ms).',
      'Latency',
      'Latency.',
    ),
  },
};
