import { APPLY_LAG, LATENCY_PROBE, OK_BAD, RATIO_USAGE } from './colours.js';
import { ONE_CLUSTER, quantile } from './selectors.js';
import type { RowSpec } from './spec.js';

/** Request rate, errors and duration (RED): client traffic per member and method, and the exporter's probe. */
export const requestsRow: RowSpec = {
  title: 'Requests (rate, errors, duration)',
  panels: [
    {
      kind: 'timeseries',
      title: 'Request rate by member',
      description: 'Client requests per second served by each member (gRPC RPCs started, from its /metrics).',
      w: 8,
      h: 8,
      unit: 'reqps',
      stack: true,
      targets: [
        {
          expr: `sum by (member) (etcd_monitor_member_requests_per_second{${ONE_CLUSTER}})`,
          legend: '{{member}}',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Unary RPC rate by method',
      description:
        'Unary gRPC calls per second by method across the cluster (etcd grpc_server_started_total).',
      w: 8,
      h: 8,
      unit: 'reqps',
      targets: [
        {
          expr: `sum by (grpc_method) (rate(grpc_server_started_total{${ONE_CLUSTER}, grpc_type="unary"}[$__rate_interval]))`,
          legend: '{{grpc_method}}',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Request errors',
      description:
        'Failed requests per second by member, and unary gRPC calls finished with a non-OK code by method and code. Streams (Watch, LeaseKeepAlive) are left out because clients ending a stream count as errors.',
      w: 8,
      h: 8,
      unit: 'reqps',
      targets: [
        {
          expr: `sum by (member) (etcd_monitor_member_request_errors_per_second{${ONE_CLUSTER}})`,
          legend: '{{member}}',
        },
        {
          expr: `sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{${ONE_CLUSTER}, grpc_type="unary", grpc_code!="OK"}[$__rate_interval]))`,
          legend: '{{grpc_method}} {{grpc_code}}',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Probe latency p99 by member',
      description:
        "99th percentile of the exporter's own read and write probe against each member; the request duration a client sees. Red above --max-latency-ms (100 ms by default).",
      w: 12,
      h: 8,
      unit: 's',
      thresholds: LATENCY_PROBE,
      targets: [
        {
          expr: quantile(0.99, 'etcd_monitor_probe_duration_seconds', ONE_CLUSTER, 'member, operation'),
          legend: '{{member}} {{operation}}',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Probe latency quantiles',
      description: 'Median, 90th and 99th percentile probe latency over all members, by operation.',
      w: 8,
      h: 8,
      unit: 's',
      thresholds: LATENCY_PROBE,
      targets: [0.5, 0.9, 0.99].map((q) => ({
        expr: quantile(q, 'etcd_monitor_probe_duration_seconds', ONE_CLUSTER, 'operation'),
        legend: `p${q * 100} {{operation}}`,
      })),
    },
    {
      kind: 'stat',
      title: 'Probe success',
      description: 'Whether the latest read and write probe succeeded on every member.',
      w: 4,
      h: 8,
      textMode: 'value_and_name',
      targets: [
        { expr: `min by (operation) (etcd_monitor_probe_success{${ONE_CLUSTER}})`, legend: '{{operation}}' },
      ],
      mappings: OK_BAD,
    },
  ],
};

/** Database size against the backend quota, fragmentation, growth and time until the quota is full. */
export const databaseRow: RowSpec = {
  title: 'Database size and quota',
  panels: [
    {
      kind: 'timeseries',
      title: 'Database size',
      description:
        'Physical database file size and its logically used part per member, against the configured backend quota. The gap between total and in-use is reclaimable by defragmentation.',
      w: 12,
      h: 8,
      unit: 'bytes',
      targets: [
        { expr: `etcd_monitor_member_db_size_bytes{${ONE_CLUSTER}}`, legend: '{{member}} total' },
        { expr: `etcd_monitor_member_db_size_in_use_bytes{${ONE_CLUSTER}}`, legend: '{{member}} in use' },
        { expr: `max(etcd_monitor_member_db_quota_bytes{${ONE_CLUSTER}})`, legend: 'quota' },
      ],
    },
    {
      kind: 'gauge',
      title: 'Quota used',
      description:
        'Database size as a share of the backend quota on the fullest member; at 100 % etcd raises NOSPACE and refuses writes.',
      w: 6,
      h: 8,
      unit: 'percentunit',
      min: 0,
      max: 1,
      thresholds: RATIO_USAGE,
      targets: [{ expr: `max(etcd_monitor_member_db_quota_usage_ratio{${ONE_CLUSTER}})` }],
    },
    {
      kind: 'bargauge',
      title: 'Fragmentation',
      description:
        'Share of each database file that is free space (1 − in use / total); above 50 % on a large database, defragment one member at a time.',
      w: 6,
      h: 8,
      unit: 'percentunit',
      min: 0,
      max: 1,
      thresholds: [
        [null, 'green'],
        [0.5, 'yellow'],
      ],
      targets: [{ expr: `etcd_monitor_member_db_fragmentation_ratio{${ONE_CLUSTER}}`, legend: '{{member}}' }],
    },
    {
      kind: 'timeseries',
      title: 'Database growth',
      description: 'Rate of change of the database file size per member, as estimated by the exporter.',
      w: 12,
      h: 7,
      unit: 'Bps',
      targets: [
        { expr: `etcd_monitor_member_db_growth_bytes_per_second{${ONE_CLUSTER}}`, legend: '{{member}}' },
      ],
    },
    {
      kind: 'stat',
      title: 'Time until quota is full',
      description:
        'At the current growth rate, time until the fullest member reaches the quota (the shortest across members).',
      w: 12,
      h: 7,
      unit: 's',
      thresholds: [
        [null, 'red'],
        [86_400, 'yellow'],
        [604_800, 'green'],
      ],
      targets: [
        {
          expr: `min(etcd_monitor_member_db_seconds_until_quota_full{${ONE_CLUSTER}})`,
          emptyWhenHealthy: 'only present while the database grows',
        },
      ],
    },
  ],
};

/** Elections: leader changes seen by the exporter and by each member, and raft apply lag. */
export const leaderRow: RowSpec = {
  title: 'Leader changes and consensus',
  panels: [
    {
      kind: 'stat',
      title: 'Leader changes (last hour)',
      description:
        'Leader changes the exporter observed in the last hour; red above --max-leader-changes (3 by default). Frequent elections mean slow disks, an overloaded network or CPU starvation.',
      w: 6,
      h: 7,
      targets: [{ expr: `etcd_monitor_cluster_leader_changes_last_hour{${ONE_CLUSTER}}` }],
      thresholds: [
        [null, 'green'],
        [1, 'yellow'],
        [4, 'red'],
      ],
    },
    {
      kind: 'timeseries',
      title: 'Leader changes per hour',
      description:
        "Leader changes over the past hour as observed by the exporter, and as counted by each member's own etcd_server_leader_changes_seen_total.",
      w: 6,
      h: 7,
      unit: 'short',
      targets: [
        {
          expr: `increase(etcd_monitor_cluster_leader_changes_total{${ONE_CLUSTER}}[1h])`,
          legend: 'observed by exporter',
        },
        {
          expr: `sum by (member) (increase(etcd_server_leader_changes_seen_total{${ONE_CLUSTER}}[1h]))`,
          legend: 'seen by {{member}}',
        },
      ],
    },
    {
      kind: 'stat',
      title: 'Since last leader change',
      description: 'Time since the exporter last saw the leader or the raft term change.',
      w: 6,
      h: 7,
      unit: 's',
      decimals: 0,
      thresholds: [
        [null, 'yellow'],
        [3600, 'green'],
      ],
      targets: [
        {
          expr: `time() - etcd_monitor_cluster_last_leader_change_timestamp_seconds{${ONE_CLUSTER}}`,
          emptyWhenHealthy: 'no leader change has been observed since the exporter started',
        },
      ],
    },
    {
      kind: 'timeseries',
      title: 'Apply lag',
      description:
        'Committed but not yet applied raft entries per member; etcd keeps this within a few thousand even under load.',
      w: 6,
      h: 7,
      unit: 'none',
      thresholds: APPLY_LAG,
      targets: [{ expr: `etcd_monitor_member_apply_lag_entries{${ONE_CLUSTER}}`, legend: '{{member}}' }],
    },
  ],
};
