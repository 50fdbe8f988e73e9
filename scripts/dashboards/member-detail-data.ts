import { timeseries } from './panel-builders.js';
import { CHOSEN_MEMBERS } from './selectors.js';
import type { RowSpec } from './spec.js';

/** What clients hold open and store on each member: watchers, streams, requests, keys, revisions, size. */
export const clientsRow: RowSpec = {
  title: 'Watchers and clients',
  panels: [
    timeseries(
      'Watchers',
      'Watchers registered on each member, and the watchers that fall behind (slow).',
      'none',
      [
        { expr: `etcd_monitor_member_watchers{${CHOSEN_MEMBERS}}`, legend: '{{member}} watchers' },
        { expr: `etcd_debugging_mvcc_slow_watcher_total{${CHOSEN_MEMBERS}}`, legend: '{{member}} slow' },
      ],
    ),
    timeseries('Streams', 'Open watch and lease keep-alive streams per member.', 'none', [
      { expr: `etcd_monitor_member_watch_streams{${CHOSEN_MEMBERS}}`, legend: '{{member}} watch' },
      { expr: `etcd_monitor_member_lease_streams{${CHOSEN_MEMBERS}}`, legend: '{{member}} lease' },
    ]),
    timeseries('Requests', 'Client requests and failed requests per second on each member.', 'reqps', [
      { expr: `etcd_monitor_member_requests_per_second{${CHOSEN_MEMBERS}}`, legend: '{{member}} requests' },
      {
        expr: `etcd_monitor_member_request_errors_per_second{${CHOSEN_MEMBERS}}`,
        legend: '{{member}} errors',
      },
    ]),
    timeseries('Keys', 'Keys stored in each member (etcd_debugging_mvcc_keys_total).', 'none', [
      { expr: `etcd_debugging_mvcc_keys_total{${CHOSEN_MEMBERS}}`, legend: '{{member}}' },
    ]),
    timeseries('Revision', 'Current store revision and the last compacted revision per member.', 'none', [
      { expr: `etcd_monitor_member_revision{${CHOSEN_MEMBERS}}`, legend: '{{member}} current' },
      { expr: `etcd_debugging_mvcc_compact_revision{${CHOSEN_MEMBERS}}`, legend: '{{member}} compacted' },
    ]),
    timeseries('Database size', 'Database file size and its in-use part on each member.', 'bytes', [
      { expr: `etcd_monitor_member_db_size_bytes{${CHOSEN_MEMBERS}}`, legend: '{{member}} total' },
      { expr: `etcd_monitor_member_db_size_in_use_bytes{${CHOSEN_MEMBERS}}`, legend: '{{member}} in use' },
    ]),
  ],
};

/** Raft snapshots, compactions and defragmentation. */
export const snapshotsRow: RowSpec = {
  title: 'Snapshots and compactions',
  panels: [
    timeseries(
      'Snapshot and compaction p99',
      "The exporter's p99 of raft snapshot save and database compaction durations.",
      's',
      [
        {
          expr: `etcd_monitor_member_snapshot_save_p99_seconds{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} snapshot save',
          emptyWhenHealthy: 'etcd takes a raft snapshot only every --snapshot-count (100,000) entries',
        },
        {
          expr: `etcd_monitor_member_compaction_p99_seconds{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} compaction',
          emptyWhenHealthy: 'etcd compacts only when a client or --auto-compaction asks it to',
        },
      ],
    ),
    timeseries(
      'Snapshots and compactions per hour',
      'Raft snapshots saved, and compactions (changes of the compacted revision), in the last hour.',
      'short',
      [
        {
          expr: `increase(etcd_debugging_snap_save_total_duration_seconds_count{${CHOSEN_MEMBERS}}[1h])`,
          legend: '{{member}} snapshots',
        },
        {
          // The compaction histogram is not re-exposed by default; each compaction moves the compacted revision.
          expr: `changes(etcd_debugging_mvcc_compact_revision{${CHOSEN_MEMBERS}}[1h])`,
          legend: '{{member}} compactions',
        },
      ],
    ),
    timeseries(
      'Defragmentation and snapshot transfer',
      'Whether a defragmentation runs, and raft snapshots being applied from the leader (followers that fell too far behind).',
      'none',
      [
        { expr: `etcd_disk_defrag_inflight{${CHOSEN_MEMBERS}}`, legend: '{{member}} defrag running' },
        {
          expr: `etcd_server_snapshot_apply_in_progress_total{${CHOSEN_MEMBERS}}`,
          legend: '{{member}} snapshot applying',
        },
      ],
    ),
  ],
};
