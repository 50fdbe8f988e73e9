import {
  APPLY_LAG,
  BACKEND_COMMIT,
  CM,
  OK_BAD,
  PEER_RTT,
  RATIO_USAGE,
  UID,
  WAL_FSYNC,
  YES_NO,
  clusterVar,
  memberVar,
  quantile,
} from './common.js';
import type { DashboardSpec, PanelSpec } from './lib.js';

const series = (
  title: string,
  description: string,
  unit: string,
  targets: PanelSpec['targets'],
  extra: Partial<PanelSpec> = {},
): PanelSpec => ({ kind: 'timeseries', title, description, unit, targets, w: 8, h: 8, ...extra });

/** One or more members in depth: USE, disk latency, raft, peers, watchers and snapshots. */
export const memberDetail: DashboardSpec = {
  uid: UID.member,
  title: 'etcd / Member detail',
  summary:
    'Per member: USE (CPU, memory, FDs, disk, network), disk latency, raft proposals, apply lag, peers, watchers, snapshots',
  description:
    "Per-member resources (CPU, memory, file descriptors, disk, network), WAL fsync and backend commit latency, raft proposals and apply lag, peer round trips, watchers and clients, snapshots and compactions. Uses etcd-monitor's derived series and each member's own etcd series re-exposed with cluster and member labels.",
  tags: ['etcd', 'member'],
  variables: [clusterVar, memberVar],
  rows: [
    {
      title: 'Status',
      panels: [
        {
          kind: 'stat',
          title: 'Up',
          description: 'Whether the exporter reached the member in its latest collection.',
          w: 4,
          h: 4,
          textMode: 'value_and_name',
          targets: [{ expr: `etcd_monitor_member_up{${CM}}`, legend: '{{member}}' }],
          mappings: YES_NO,
        },
        {
          kind: 'stat',
          title: 'Healthy',
          description:
            "Whether the member's health check passed (it has a leader and can serve a quorum read).",
          w: 4,
          h: 4,
          textMode: 'value_and_name',
          targets: [{ expr: `etcd_monitor_member_healthy{${CM}}`, legend: '{{member}}' }],
          mappings: OK_BAD,
        },
        {
          kind: 'stat',
          title: 'Role',
          description: 'Leader, follower or learner, from each member status.',
          w: 4,
          h: 4,
          textMode: 'value_and_name',
          thresholds: [[null, 'text']],
          targets: [
            {
              expr: `etcd_monitor_member_is_leader{${CM}} * 2 + etcd_monitor_member_is_learner{${CM}}`,
              legend: '{{member}}',
            },
          ],
          mappings: [
            { value: 2, text: 'leader', color: 'blue' },
            { value: 0, text: 'follower', color: 'green' },
            { value: 1, text: 'learner', color: 'purple' },
          ],
        },
        {
          kind: 'stat',
          title: 'Version',
          description: 'etcd server version reported by the member.',
          w: 4,
          h: 4,
          textMode: 'name',
          thresholds: [[null, 'text']],
          targets: [
            {
              expr: `max by (member, version) (etcd_monitor_member_info{${CM}})`,
              legend: '{{member}} {{version}}',
            },
          ],
        },
        {
          kind: 'stat',
          title: 'Raft term',
          description: 'Current raft term; it increases with every election.',
          w: 4,
          h: 4,
          textMode: 'value_and_name',
          unit: 'none',
          thresholds: [[null, 'text']],
          targets: [{ expr: `etcd_monitor_member_raft_term{${CM}}`, legend: '{{member}}' }],
        },
        {
          kind: 'stat',
          title: 'Uptime',
          description: 'Time since the etcd process started (process_start_time_seconds).',
          w: 4,
          h: 4,
          textMode: 'value_and_name',
          unit: 's',
          thresholds: [[null, 'text']],
          targets: [{ expr: `time() - process_start_time_seconds{${CM}}`, legend: '{{member}}' }],
        },
      ],
    },
    {
      title: 'Resources (utilisation, saturation, errors)',
      panels: [
        series('CPU', 'CPU cores used by the etcd process.', 'none', [
          { expr: `etcd_monitor_member_cpu_cores_used{${CM}}`, legend: '{{member}}' },
        ]),
        series(
          'Memory',
          'Resident memory of the etcd process; it normally runs at a multiple of the in-use database size.',
          'bytes',
          [
            { expr: `etcd_monitor_member_resident_memory_bytes{${CM}}`, legend: '{{member}} resident' },
            { expr: `process_virtual_memory_bytes{${CM}}`, legend: '{{member}} virtual' },
          ],
        ),
        series(
          'File descriptor usage',
          'Open file descriptors as a share of the limit; etcd can panic when it cannot open a new WAL file.',
          'percentunit',
          [
            {
              expr: `etcd_monitor_member_open_fds{${CM}} / etcd_monitor_member_max_fds{${CM}}`,
              legend: '{{member}}',
            },
          ],
          { thresholds: RATIO_USAGE, min: 0 },
        ),
        series(
          'Open file descriptors',
          'Open file descriptors and the limit, as seen by the process collector and by etcd itself (os_fd_used, os_fd_limit).',
          'none',
          [
            { expr: `etcd_monitor_member_open_fds{${CM}}`, legend: '{{member}} open' },
            { expr: `os_fd_used{${CM}}`, legend: '{{member}} used (etcd)' },
            { expr: `etcd_monitor_member_max_fds{${CM}}`, legend: '{{member}} limit' },
          ],
        ),
        series(
          'Disk writes',
          'Bytes written to the WAL per second (etcd_disk_wal_write_bytes_total is a gauge, so deriv() rather than rate()).',
          'Bps',
          [{ expr: `deriv(etcd_disk_wal_write_bytes_total{${CM}}[$__rate_interval])`, legend: '{{member}}' }],
        ),
        series(
          'Network traffic',
          'Bytes per second to and from clients (gRPC) and peers (raft). Received is drawn below zero.',
          'Bps',
          [
            {
              expr: `etcd_monitor_member_client_sent_bytes_per_second{${CM}}`,
              legend: '{{member}} client out',
            },
            {
              expr: `-etcd_monitor_member_client_received_bytes_per_second{${CM}}`,
              legend: '{{member}} client in',
            },
            { expr: `etcd_monitor_member_peer_sent_bytes_per_second{${CM}}`, legend: '{{member}} peer out' },
            {
              expr: `-etcd_monitor_member_peer_received_bytes_per_second{${CM}}`,
              legend: '{{member}} peer in',
            },
          ],
        ),
      ],
    },
    {
      title: 'Disk latency',
      panels: [
        series(
          'WAL fsync p99',
          'WAL fsync latency per member; every write waits for it. etcd recommends p99 below 10 ms.',
          's',
          [
            {
              expr: quantile(0.99, 'etcd_disk_wal_fsync_duration_seconds', CM, 'member'),
              legend: '{{member}} p99',
            },
            {
              expr: quantile(0.5, 'etcd_disk_wal_fsync_duration_seconds', CM, 'member'),
              legend: '{{member}} p50',
            },
          ],
          { thresholds: WAL_FSYNC },
        ),
        series(
          'Backend commit p99',
          'bbolt commit latency per member (incremental persist of applied state). etcd recommends p99 below 25 ms.',
          's',
          [
            {
              expr: quantile(0.99, 'etcd_disk_backend_commit_duration_seconds', CM, 'member'),
              legend: '{{member}} p99',
            },
            {
              expr: quantile(0.5, 'etcd_disk_backend_commit_duration_seconds', CM, 'member'),
              legend: '{{member}} p50',
            },
          ],
          { thresholds: BACKEND_COMMIT },
        ),
        series(
          'Exporter disk p99 view',
          "The exporter's p99 of WAL fsync and backend commit over its own collection window (same source, independent of Grafana's interval).",
          's',
          [
            { expr: `etcd_monitor_member_wal_fsync_p99_seconds{${CM}}`, legend: '{{member}} WAL fsync' },
            {
              expr: `etcd_monitor_member_backend_commit_p99_seconds{${CM}}`,
              legend: '{{member}} backend commit',
            },
          ],
        ),
      ],
    },
    {
      title: 'Raft proposals',
      panels: [
        series(
          'Proposals committed and applied',
          'Raft entries committed and applied per second per member (from the commit and applied indexes, which are gauges).',
          'ops',
          [
            {
              expr: `etcd_monitor_member_proposals_committed_per_second{${CM}}`,
              legend: '{{member}} committed',
            },
            { expr: `etcd_monitor_member_proposals_applied_per_second{${CM}}`, legend: '{{member}} applied' },
          ],
        ),
        series(
          'Proposals pending and failed',
          'Proposals queued but not yet committed, and failed proposals per second (bursts during elections; sustained failures mean lost quorum).',
          'short',
          [
            { expr: `etcd_monitor_member_proposals_pending{${CM}}`, legend: '{{member}} pending' },
            { expr: `etcd_monitor_member_proposals_failed_per_second{${CM}}`, legend: '{{member}} failed/s' },
          ],
        ),
        series(
          'Apply lag',
          'Committed minus applied raft index per member; it stays within a few thousand even under load.',
          'none',
          [
            { expr: `etcd_monitor_member_apply_lag_entries{${CM}}`, legend: '{{member}}' },
            {
              expr: `etcd_server_proposals_committed_total{${CM}} - etcd_server_proposals_applied_total{${CM}}`,
              legend: '{{member}} (etcd metrics)',
            },
          ],
          { thresholds: APPLY_LAG },
        ),
        series(
          'Raft index',
          'Raft commit and applied index per member; members that stop moving have fallen behind.',
          'none',
          [
            { expr: `etcd_monitor_member_raft_index{${CM}}`, legend: '{{member}} index' },
            { expr: `etcd_monitor_member_raft_applied_index{${CM}}`, legend: '{{member}} applied' },
          ],
        ),
        series(
          'Slow applies and heartbeat failures',
          'Applies slower than 100 ms, leader heartbeats sent late (slow disk or CPU starvation), and failed or stale ReadIndex requests, per second.',
          'ops',
          [
            {
              expr: `rate(etcd_server_slow_apply_total{${CM}}[$__rate_interval])`,
              legend: '{{member}} slow apply',
            },
            {
              expr: `rate(etcd_server_heartbeat_send_failures_total{${CM}}[$__rate_interval])`,
              legend: '{{member}} heartbeat failure',
            },
            {
              expr: `rate(etcd_server_slow_read_indexes_total{${CM}}[$__rate_interval])`,
              legend: '{{member}} slow read index',
            },
          ],
        ),
        series('Leader changes seen', 'Leader changes each member observed in the last hour.', 'short', [
          {
            expr: `increase(etcd_server_leader_changes_seen_total{${CM}}[1h])`,
            legend: '{{member}}',
          },
        ]),
      ],
    },
    {
      title: 'Peers',
      panels: [
        series(
          'Peer round trip p99',
          "99th percentile round trip to each peer, from each member's etcd_network_peer_round_trip_time_seconds (bucket edges 0.1 ms × 2ⁿ). etcd measures it only every 30 s per peer, so short intervals show gaps.",
          's',
          [
            {
              expr: quantile(0.99, 'etcd_network_peer_round_trip_time_seconds', CM, 'member, To'),
              legend: '{{member}} → {{To}}',
            },
          ],
          { thresholds: PEER_RTT, w: 12 },
        ),
        series(
          'Active peers',
          'Peer links each member currently has connected.',
          'none',
          [{ expr: `sum by (member) (etcd_network_active_peers{${CM}})`, legend: '{{member}}' }],
          { w: 6 },
        ),
        series(
          'Peer send failures',
          'Failed sends to peers per second (the mixin uses these to detect a member that is down).',
          'ops',
          [
            {
              expr: `sum by (member, To) (rate(etcd_network_peer_sent_failures_total{${CM}}[$__rate_interval]))`,
              legend: '{{member}} → {{To}}',
              emptyWhenHealthy: 'etcd creates the per-peer failure counter on the first failed send',
            },
          ],
          { w: 6 },
        ),
      ],
    },
    {
      title: 'Watchers and clients',
      panels: [
        series(
          'Watchers',
          'Watchers registered on each member, and the watchers that fall behind (slow).',
          'none',
          [
            { expr: `etcd_monitor_member_watchers{${CM}}`, legend: '{{member}} watchers' },
            { expr: `etcd_debugging_mvcc_slow_watcher_total{${CM}}`, legend: '{{member}} slow' },
          ],
        ),
        series('Streams', 'Open watch and lease keep-alive streams per member.', 'none', [
          { expr: `etcd_monitor_member_watch_streams{${CM}}`, legend: '{{member}} watch' },
          { expr: `etcd_monitor_member_lease_streams{${CM}}`, legend: '{{member}} lease' },
        ]),
        series('Requests', 'Client requests and failed requests per second on each member.', 'reqps', [
          { expr: `etcd_monitor_member_requests_per_second{${CM}}`, legend: '{{member}} requests' },
          { expr: `etcd_monitor_member_request_errors_per_second{${CM}}`, legend: '{{member}} errors' },
        ]),
        series('Keys', 'Keys stored in each member (etcd_debugging_mvcc_keys_total).', 'none', [
          { expr: `etcd_debugging_mvcc_keys_total{${CM}}`, legend: '{{member}}' },
        ]),
        series('Revision', 'Current store revision and the last compacted revision per member.', 'none', [
          { expr: `etcd_monitor_member_revision{${CM}}`, legend: '{{member}} current' },
          { expr: `etcd_debugging_mvcc_compact_revision{${CM}}`, legend: '{{member}} compacted' },
        ]),
        series('Database size', 'Database file size and its in-use part on each member.', 'bytes', [
          { expr: `etcd_monitor_member_db_size_bytes{${CM}}`, legend: '{{member}} total' },
          { expr: `etcd_monitor_member_db_size_in_use_bytes{${CM}}`, legend: '{{member}} in use' },
        ]),
      ],
    },
    {
      title: 'Snapshots and compactions',
      panels: [
        series(
          'Snapshot and compaction p99',
          "The exporter's p99 of raft snapshot save and database compaction durations.",
          's',
          [
            {
              expr: `etcd_monitor_member_snapshot_save_p99_seconds{${CM}}`,
              legend: '{{member}} snapshot save',
              emptyWhenHealthy: 'etcd takes a raft snapshot only every --snapshot-count (100,000) entries',
            },
            {
              expr: `etcd_monitor_member_compaction_p99_seconds{${CM}}`,
              legend: '{{member}} compaction',
              emptyWhenHealthy: 'etcd compacts only when a client or --auto-compaction asks it to',
            },
          ],
        ),
        series(
          'Snapshots and compactions per hour',
          'Raft snapshots saved, and compactions (changes of the compacted revision), in the last hour.',
          'short',
          [
            {
              expr: `increase(etcd_debugging_snap_save_total_duration_seconds_count{${CM}}[1h])`,
              legend: '{{member}} snapshots',
            },
            {
              // The compaction histogram is not re-exposed by default; each compaction moves the compacted revision.
              expr: `changes(etcd_debugging_mvcc_compact_revision{${CM}}[1h])`,
              legend: '{{member}} compactions',
            },
          ],
        ),
        series(
          'Defragmentation and snapshot transfer',
          'Whether a defragmentation runs, and raft snapshots being applied from the leader (followers that fell too far behind).',
          'none',
          [
            { expr: `etcd_disk_defrag_inflight{${CM}}`, legend: '{{member}} defrag running' },
            {
              expr: `etcd_server_snapshot_apply_in_progress_total{${CM}}`,
              legend: '{{member}} snapshot applying',
            },
          ],
        ),
      ],
    },
  ],
};
