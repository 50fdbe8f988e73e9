import { APPLY_LAG, BACKEND_COMMIT, PEER_RTT, WAL_FSYNC } from './colours.js';
import { timeseries } from './panel-builders.js';
import { CHOSEN_MEMBERS, quantile } from './selectors.js';
import type { RowSpec } from './spec.js';

/** WAL fsync and backend commit latency: every write waits for both. */
export const diskRow: RowSpec = {
  title: 'Disk latency',
  panels: [
    timeseries(
      'WAL fsync p99',
      'WAL fsync latency per member; every write waits for it. etcd recommends p99 below 10 ms.',
      's',
      [
        {
          expr: quantile(0.99, 'etcd_disk_wal_fsync_duration_seconds', CHOSEN_MEMBERS, 'member'),
          legend: '{{member}} p99',
        },
        {
          expr: quantile(0.5, 'etcd_disk_wal_fsync_duration_seconds', CHOSEN_MEMBERS, 'member'),
          legend: '{{member}} p50',
        },
      ],
      { thresholds: WAL_FSYNC },
    ),
    timeseries(
      'Backend commit p99',
      'bbolt commit latency per member (incremental persist of applied state). etcd recommends p99 below 25 ms.',
      's',
      [
        {
          expr: quantile(0.99, 'etcd_disk_backend_commit_duration_seconds', CHOSEN_MEMBERS, 'member'),
          legend: '{{member}} p99',
        },
        {
          expr: quantile(0.5, 'etcd_disk_backend_commit_duration_seconds', CHOSEN_MEMBERS, 'member'),
          legend: '{{member}} p50',
        },
      ],
      { thresholds: BACKEND_COMMIT },
    ),
    timeseries(
      'Exporter disk p99 view',
      "The exporter's p99 of WAL fsync and backend commit over its own collection window (same source, independent of Grafana's interval).",
      's',
      [
        {
          expr: `etcd_monitor_member_wal_fsync_p99_seconds{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} WAL fsync',
        },
        {
          expr: `etcd_monitor_member_backend_commit_p99_seconds{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} backend commit',
        },
      ],
    ),
  ],
};

/** Raft proposals committed, applied, pending and failed, and the signs of a slow member. */
export const raftRow: RowSpec = {
  title: 'Raft proposals',
  panels: [
    timeseries(
      'Proposals committed and applied',
      'Raft entries committed and applied per second per member (from the commit and applied indexes, which are gauges).',
      'ops',
      [
        {
          expr: `etcd_monitor_member_proposals_committed_per_second{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} committed',
        },
        {
          expr: `etcd_monitor_member_proposals_applied_per_second{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} applied',
        },
      ],
    ),
    timeseries(
      'Proposals pending and failed',
      'Proposals queued but not yet committed, and failed proposals per second (bursts during elections; sustained failures mean lost quorum).',
      'short',
      [
        { expr: `etcd_monitor_member_proposals_pending{${CHOSEN_MEMBERS}}`, legend: '{{member}} pending' },
        {
          expr: `etcd_monitor_member_proposals_failed_per_second{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} failed/s',
        },
      ],
    ),
    timeseries(
      'Apply lag',
      'Committed minus applied raft index per member; it stays within a few thousand even under load.',
      'none',
      [
        { expr: `etcd_monitor_member_apply_lag_entries{${CHOSEN_MEMBERS}}`, legend: '{{member}}' },
        {
          expr: `etcd_server_proposals_committed_total{${CHOSEN_MEMBERS}} - etcd_server_proposals_applied_total{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} (etcd metrics)',
        },
      ],
      { thresholds: APPLY_LAG },
    ),
    timeseries(
      'Raft index',
      'Raft commit and applied index per member; members that stop moving have fallen behind.',
      'none',
      [
        { expr: `etcd_monitor_member_raft_index{${CHOSEN_MEMBERS}}`, legend: '{{member}} index' },
        { expr: `etcd_monitor_member_raft_applied_index{${CHOSEN_MEMBERS}}`, legend: '{{member}} applied' },
      ],
    ),
    timeseries(
      'Slow applies and heartbeat failures',
      'Applies slower than 100 ms, leader heartbeats sent late (slow disk or CPU starvation), and failed or stale ReadIndex requests, per second.',
      'ops',
      [
        {
          expr: `rate(etcd_server_slow_apply_total{${CHOSEN_MEMBERS}}[$__rate_interval])`,
          legend: '{{member}} slow apply',
        },
        {
          expr: `rate(etcd_server_heartbeat_send_failures_total{${CHOSEN_MEMBERS}}[$__rate_interval])`,
          legend: '{{member}} heartbeat failure',
        },
        {
          expr: `rate(etcd_server_slow_read_indexes_total{${CHOSEN_MEMBERS}}[$__rate_interval])`,
          legend: '{{member}} slow read index',
        },
      ],
    ),
    timeseries('Leader changes seen', 'Leader changes each member observed in the last hour.', 'short', [
      {
        expr: `increase(etcd_server_leader_changes_seen_total{${CHOSEN_MEMBERS}}[1h])`,
        legend: '{{member}}',
      },
    ]),
  ],
};

/** Round trips, links and failed sends between members. */
export const peersRow: RowSpec = {
  title: 'Peers',
  panels: [
    timeseries(
      'Peer round trip p99',
      "99th percentile round trip to each peer, from each member's etcd_network_peer_round_trip_time_seconds (bucket edges 0.1 ms × 2ⁿ). etcd measures it only every 30 s per peer, so short intervals show gaps.",
      's',
      [
        {
          expr: quantile(0.99, 'etcd_network_peer_round_trip_time_seconds', CHOSEN_MEMBERS, 'member, To'),
          legend: '{{member}} → {{To}}',
        },
      ],
      { thresholds: PEER_RTT, w: 12 },
    ),
    timeseries(
      'Active peers',
      'Peer links each member currently has connected.',
      'none',
      [{ expr: `sum by (member) (etcd_network_active_peers{${CHOSEN_MEMBERS}})`, legend: '{{member}}' }],
      { w: 6 },
    ),
    timeseries(
      'Peer send failures',
      'Failed sends to peers per second (the mixin uses these to detect a member that is down).',
      'ops',
      [
        {
          expr: `sum by (member, To) (rate(etcd_network_peer_sent_failures_total{${CHOSEN_MEMBERS}}[$__rate_interval]))`,
          legend: '{{member}} → {{To}}',
          emptyWhenHealthy: 'etcd creates the per-peer failure counter on the first failed send',
        },
      ],
      { w: 6 },
    ),
  ],
};
