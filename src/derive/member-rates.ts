import { samplesOf, sumOf } from '../protocol/prom-text/index.js';
import type { ParsedMetrics } from '../protocol/prom-text/types.js';
import { bucketDelta, bucketsOf, quantile, type Buckets } from './histogram.js';

/** One member's /metrics at a point in time. */
export interface TimedMetrics {
  readonly at: number;
  readonly metrics: ParsedMetrics;
}

/** USE, RED, raft and disk figures of one member, from one scrape (levels) and the previous one (rates). */
export interface MemberRates {
  readonly cpuSecondsPerSecond?: number;
  readonly residentMemoryBytes?: number;
  readonly openFds?: number;
  readonly maxFds?: number;
  readonly peerSentBytesPerSecond?: number;
  readonly peerReceivedBytesPerSecond?: number;
  readonly clientSentBytesPerSecond?: number;
  readonly clientReceivedBytesPerSecond?: number;
  readonly requestsPerSecond?: number;
  readonly requestErrorsPerSecond?: number;
  readonly proposalsCommittedPerSecond?: number;
  readonly proposalsAppliedPerSecond?: number;
  readonly proposalsPending?: number;
  readonly proposalsFailedPerSecond?: number;
  readonly walFsyncP99Seconds?: number;
  readonly backendCommitP99Seconds?: number;
  readonly peerRoundTripP99Seconds?: number;
  readonly snapshotSaveP99Seconds?: number;
  readonly compactionP99Seconds?: number;
  readonly watchers?: number;
  readonly watchStreams?: number;
  readonly leaseStreams?: number;
  readonly leaderChangesSeen?: number;
  readonly quotaBytes?: number;
}

/**
 * gRPC codes that mean the server failed the request. Canceled and OK are not failures, and only unary
 * calls count: Watch and LeaseKeepAlive streams end with Unavailable/Unknown whenever a client goes away.
 */
export const FAILURE_CODES = new Set([
  'Unknown',
  'FailedPrecondition',
  'ResourceExhausted',
  'Internal',
  'Unavailable',
  'DataLoss',
  'DeadlineExceeded',
]);

const isUnary = (l: Readonly<Record<string, string>>) => l['grpc_type'] === 'unary';

/** Derives a member's figures; rates need the previous scrape and are left out across a restart. */
export function deriveMemberRates(previous: TimedMetrics | undefined, current: TimedMetrics): MemberRates {
  const m = current.metrics;
  // A restart resets every counter; one that has since grown past its old value would yield a wrong rate.
  const restarted =
    previous !== undefined &&
    sumOf(previous.metrics, 'process_start_time_seconds') !== sumOf(m, 'process_start_time_seconds');
  const p = restarted ? undefined : previous?.metrics;
  const seconds = previous ? (current.at - previous.at) / 1000 : 0;
  const rate = (
    family: string,
    where?: (l: Readonly<Record<string, string>>) => boolean,
  ): number | undefined => {
    if (!p || seconds <= 0) return undefined;
    const now = sumOf(m, family, where);
    const before = sumOf(p, family, where);
    if (now === undefined || before === undefined || now < before) return undefined;
    return (now - before) / seconds;
  };
  const p99 = (family: string, scale = 1, where?: (l: Readonly<Record<string, string>>) => boolean) => {
    if (!p) return undefined;
    const value = quantile(0.99, bucketDelta(bucketsOf(p, family, where), bucketsOf(m, family, where)));
    return value === undefined ? undefined : value * scale;
  };
  const openStreams = (method: string) => {
    const match = (l: Readonly<Record<string, string>>) =>
      l['grpc_method'] === method && l['grpc_type'] === 'bidi_stream';
    const started = sumOf(m, 'grpc_server_started_total', match);
    const handled = sumOf(m, 'grpc_server_handled_total', match);
    return started === undefined ? undefined : Math.max(0, started - (handled ?? 0));
  };
  return dropUndefined({
    cpuSecondsPerSecond: rate('process_cpu_seconds_total'),
    residentMemoryBytes: sumOf(m, 'process_resident_memory_bytes'),
    openFds: sumOf(m, 'process_open_fds') ?? sumOf(m, 'os_fd_used'),
    maxFds: sumOf(m, 'process_max_fds') ?? sumOf(m, 'os_fd_limit'),
    peerSentBytesPerSecond: rate('etcd_network_peer_sent_bytes_total'),
    peerReceivedBytesPerSecond: rate('etcd_network_peer_received_bytes_total'),
    clientSentBytesPerSecond: rate('etcd_network_client_grpc_sent_bytes_total'),
    clientReceivedBytesPerSecond: rate('etcd_network_client_grpc_received_bytes_total'),
    requestsPerSecond: rate('grpc_server_started_total', isUnary),
    requestErrorsPerSecond: rate(
      'grpc_server_handled_total',
      (l) => isUnary(l) && FAILURE_CODES.has(l['grpc_code'] ?? ''),
    ),
    // Committed/applied are raft indexes exported as gauges: their difference over time is the rate.
    proposalsCommittedPerSecond: rate('etcd_server_proposals_committed_total'),
    proposalsAppliedPerSecond: rate('etcd_server_proposals_applied_total'),
    proposalsPending: sumOf(m, 'etcd_server_proposals_pending'),
    proposalsFailedPerSecond: rate('etcd_server_proposals_failed_total'),
    walFsyncP99Seconds: p99('etcd_disk_wal_fsync_duration_seconds'),
    backendCommitP99Seconds: p99('etcd_disk_backend_commit_duration_seconds'),
    peerRoundTripP99Seconds: worstPeerRoundTrip(p, m),
    snapshotSaveP99Seconds: p99('etcd_debugging_snap_save_total_duration_seconds'),
    compactionP99Seconds: p99('etcd_debugging_mvcc_db_compaction_total_duration_milliseconds', 0.001),
    watchers: sumOf(m, 'etcd_debugging_mvcc_watcher_total'),
    watchStreams: openStreams('Watch'),
    leaseStreams: openStreams('LeaseKeepAlive'),
    leaderChangesSeen: sumOf(m, 'etcd_server_leader_changes_seen_total'),
    quotaBytes: sumOf(m, 'etcd_server_quota_backend_bytes'),
  });
}

function worstPeerRoundTrip(previous: ParsedMetrics | undefined, current: ParsedMetrics): number | undefined {
  if (!previous) return undefined;
  const family = 'etcd_network_peer_round_trip_time_seconds';
  const peers = new Set(samplesOf(current, family).map((s) => s.labels['To'] ?? ''));
  let worst: number | undefined;
  for (const peer of peers) {
    const where = (l: Readonly<Record<string, string>>) => (l['To'] ?? '') === peer;
    const delta: Buckets | undefined = bucketDelta(
      bucketsOf(previous, family, where),
      bucketsOf(current, family, where),
    );
    const value = quantile(0.99, delta);
    if (value !== undefined && (worst === undefined || value > worst)) worst = value;
  }
  return worst;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== undefined && !Number.isNaN(v)),
  ) as T;
}
