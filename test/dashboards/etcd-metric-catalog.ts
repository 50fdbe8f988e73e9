/**
 * etcd's own metric names per minor version (3.4, 3.5, 3.6), transcribed from the project's etcd metrics
 * reference (etcd-monitoring-facts §1). `+` = present in some patch of that minor, `-` = absent, and
 * `x` = only with `--metrics=extensive` (not exported by default). `h` marks histograms (and the one summary),
 * whose series are `_bucket`, `_sum` and `_count`.
 */
const TABLE = `
etcd_cluster_version                               + + +
etcd_server_version                                + + +
etcd_server_go_version                             + + +
etcd_server_id                                     + + +
etcd_server_has_leader                             + + +
etcd_server_is_leader                              + + +
etcd_server_is_learner                             + + +
etcd_server_leader_changes_seen_total              + + +
etcd_server_learner_promote_successes              + + +
etcd_server_learner_promote_failures               + + +
etcd_server_proposals_committed_total              + + +
etcd_server_proposals_applied_total                + + +
etcd_server_proposals_pending                      + + +
etcd_server_proposals_failed_total                 + + +
etcd_server_quota_backend_bytes                    + + +
etcd_server_heartbeat_send_failures_total          + + +
etcd_server_slow_apply_total                       + + +
etcd_server_slow_read_indexes_total                + + +
etcd_server_read_indexes_failed_total              + + +
etcd_server_snapshot_apply_in_progress_total       + + +
etcd_server_health_success                         + + +
etcd_server_health_failures                        + + +
etcd_server_healthcheck                            + + +
etcd_server_healthchecks_total                     + + +
etcd_server_client_requests_total                  + + +
etcd_server_apply_duration_seconds               h - + +
etcd_server_range_duration_seconds               h - - +
etcd_server_feature_enabled                        - - +
etcd_disk_wal_fsync_duration_seconds             h + + +
etcd_disk_backend_commit_duration_seconds        h + + +
etcd_disk_backend_defrag_duration_seconds        h + + +
etcd_disk_backend_snapshot_duration_seconds      h + + +
etcd_disk_defrag_inflight                          + + +
etcd_disk_wal_write_bytes_total                    + + +
etcd_disk_wal_write_duration_seconds             h - + +
etcd_mvcc_db_total_size_in_bytes                   + + +
etcd_mvcc_db_total_size_in_use_in_bytes            + + +
etcd_mvcc_db_open_read_transactions                + + +
etcd_mvcc_put_total                                + + +
etcd_mvcc_delete_total                             + + +
etcd_mvcc_range_total                              + + +
etcd_mvcc_txn_total                                + + +
etcd_mvcc_hash_duration_seconds                  h + + +
etcd_mvcc_hash_rev_duration_seconds              h + + +
etcd_network_active_peers                          + + +
etcd_network_disconnected_peers_total              + + +
etcd_network_known_peers                           - - +
etcd_network_peer_sent_bytes_total                 + + +
etcd_network_peer_received_bytes_total             + + +
etcd_network_peer_sent_failures_total              + + +
etcd_network_peer_received_failures_total          + + +
etcd_network_peer_round_trip_time_seconds        h + + +
etcd_network_server_stream_failures_total          + + +
etcd_network_client_grpc_sent_bytes_total          + + +
etcd_network_client_grpc_received_bytes_total      + + +
etcd_network_snapshot_send_success                 + + +
etcd_network_snapshot_send_failures                + + +
etcd_network_snapshot_send_inflights_total         + + +
etcd_network_snapshot_send_total_duration_seconds h + + +
etcd_network_snapshot_receive_success              + + +
etcd_network_snapshot_receive_failures             + + +
etcd_network_snapshot_receive_inflights_total      + + +
etcd_network_snapshot_receive_total_duration_seconds h + + +
etcd_snap_db_fsync_duration_seconds              h + + +
etcd_snap_db_save_total_duration_seconds         h + + +
etcd_snap_fsync_duration_seconds                 h + + +
etcd_debugging_server_alarms                       - - +
etcd_debugging_mvcc_current_revision               + + +
etcd_debugging_mvcc_compact_revision               + + +
etcd_debugging_mvcc_db_compaction_last             - + +
etcd_debugging_mvcc_keys_total                     + + +
etcd_debugging_mvcc_total_put_size_in_bytes        + + +
etcd_debugging_mvcc_db_total_size_in_bytes         + - -
etcd_debugging_mvcc_put_total                      + - -
etcd_debugging_mvcc_delete_total                   + - -
etcd_debugging_mvcc_txn_total                      + - -
etcd_debugging_mvcc_range_total                    + + -
etcd_debugging_mvcc_watch_stream_total             + + +
etcd_debugging_mvcc_watcher_total                  + + +
etcd_debugging_mvcc_slow_watcher_total             + + +
etcd_debugging_mvcc_events_total                   + + +
etcd_debugging_mvcc_pending_events_total           + + +
etcd_debugging_mvcc_db_compaction_keys_total       + + +
etcd_debugging_mvcc_db_compaction_pause_duration_milliseconds h + + +
etcd_debugging_mvcc_db_compaction_total_duration_milliseconds h + + +
etcd_debugging_mvcc_index_compaction_pause_duration_milliseconds h + + +
etcd_debugging_auth_revision                       + + +
etcd_debugging_disk_backend_commit_rebalance_duration_seconds h + + +
etcd_debugging_disk_backend_commit_spill_duration_seconds h + + +
etcd_debugging_disk_backend_commit_write_duration_seconds h + + +
etcd_debugging_lease_granted_total                 + + +
etcd_debugging_lease_revoked_total                 + + +
etcd_debugging_lease_renewed_total                 + + +
etcd_debugging_lease_ttl_total                   h + + +
etcd_debugging_server_lease_expired_total          + + +
etcd_debugging_snap_save_total_duration_seconds  h + + +
etcd_debugging_snap_save_marshalling_duration_seconds h + + +
etcd_debugging_store_reads_total                   + + +
etcd_debugging_store_reads_failed_total            + + +
etcd_debugging_store_writes_total                  + + +
etcd_debugging_store_writes_failed_total           + + +
etcd_debugging_store_expires_total                 + + +
etcd_debugging_store_watch_requests_total          + + +
etcd_debugging_store_watchers                      + + +
etcd_http_received_total                           + + -
etcd_http_failed_total                             + + -
etcd_http_successful_duration_seconds            h + + -
etcd_grpc_proxy_cache_hits_total                   + + +
etcd_grpc_proxy_cache_misses_total                 + + +
etcd_grpc_proxy_cache_keys_total                   + + +
etcd_grpc_proxy_events_coalescing_total            + + +
etcd_grpc_proxy_watchers_coalescing_total          + + +
os_fd_used                                         + + +
os_fd_limit                                        + + +
grpc_server_started_total                          + + +
grpc_server_handled_total                          + + +
grpc_server_msg_received_total                     + + +
grpc_server_msg_sent_total                         + + +
grpc_server_handling_seconds                     h x x x
go_gc_duration_seconds                           h + + +
go_goroutines                                      + + +
go_threads                                         + + +
process_cpu_seconds_total                          + + +
process_open_fds                                   + + +
process_max_fds                                    + + +
process_resident_memory_bytes                      + + +
process_virtual_memory_bytes                       + + +
process_virtual_memory_max_bytes                   + + +
process_start_time_seconds                         + + +
`;

export const ETCD_MINORS = ['3.4', '3.5', '3.6'] as const;
export type Availability = '+' | '-' | 'x';

export interface EtcdMetric {
  name: string;
  histogram: boolean;
  /** Availability per minor, in the order of {@link ETCD_MINORS}. */
  availability: readonly [Availability, Availability, Availability];
}

/** Every etcd metric name in the reference, with per-minor availability. */
export const ETCD_METRICS: ReadonlyMap<string, EtcdMetric> = new Map(
  TABLE.trim()
    .split('\n')
    .map((line): EtcdMetric => {
      const parts = line.trim().split(/\s+/);
      const name = parts[0] ?? '';
      const histogram = parts[1] === 'h';
      const marks = parts.slice(histogram ? 2 : 1) as Availability[];
      if (marks.length !== 3) throw new Error(`bad catalog line: ${line}`);
      return { name, histogram, availability: [marks[0]!, marks[1]!, marks[2]!] };
    })
    .map((m) => [m.name, m]),
);

/** Resolves a series name (`x_bucket`, `x_sum`, `x_count` included) to its catalog entry. */
export function lookupEtcdSeries(series: string): EtcdMetric | undefined {
  const direct = ETCD_METRICS.get(series);
  if (direct) return direct;
  const base = series.replace(/_(bucket|sum|count)$/, '');
  const entry = ETCD_METRICS.get(base);
  return entry?.histogram ? entry : undefined;
}
