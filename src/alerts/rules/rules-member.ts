import { compareToThreshold, maxBy, num, peerRttEdge } from './promql.js';
import type { RuleSettings } from './settings.js';
import type { GroupDef } from './types.js';

const BY_MEMBER = 'cluster, member';
const MIN = 60_000;
/** gRPC codes that mean the server failed; Canceled, NotFound, … are the client's business. */
const FAILED_CODES =
  'Unknown|FailedPrecondition|ResourceExhausted|Internal|Unavailable|DataLoss|DeadlineExceeded';
const p99 = (metric: string, by: string): string =>
  `histogram_quantile(0.99, sum by (${by}, le) (rate(${metric}_bucket[5m])))`;
/**
 * Per-code request rate with exporter replicas collapsed (max over identical series) before codes are summed,
 * so two exporters scraping the same member do not double the traffic that the minimum-traffic guard sees.
 */
const perCode = (selector: string): string =>
  `max by (cluster, member, grpc_service, grpc_method, grpc_code) (rate(grpc_server_handled_total{${selector}}[5m]))`;
const memberDown = `${maxBy(BY_MEMBER, 'etcd_monitor_member_up')} == 0`;

/** Client-visible latency and errors: the exporter's probe and etcd's unary gRPC outcomes. */
export function requestsGroup(s: RuleSettings): GroupDef {
  const handled = 'cluster_member_method:grpc_server_unary_handled:rate5m';
  const failed = 'cluster_member_method:grpc_server_unary_failed:rate5m';
  const ratio = 'cluster_member_method:grpc_server_unary_failed:ratio_rate5m';
  const failedAlert = (severity: 'warning' | 'critical', share: number, forMs: number) =>
    ({
      alert: 'EtcdHighNumberOfFailedGRPCRequests',
      expr: `${ratio} > ${num(share)} and ${handled} >= ${num(s.grpcMinRequestsPerSecond)}`,
      forMs,
      severity,
      summary: 'etcd member fails many unary gRPC requests.',
      description: `More than ${num(share * 100)}% of {{ $labels.grpc_service }}/{{ $labels.grpc_method }} requests to member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} fail with a server-side error code.`,
    }) as const;
  return {
    name: 'etcd-monitor.requests',
    rules: [
      {
        record: 'cluster_member_operation:etcd_monitor_probe_duration_seconds:p99_5m',
        expr: p99('etcd_monitor_probe_duration_seconds', 'cluster, member, operation'),
      },
      // Unary only: Watch and LeaseKeepAlive are streams whose normal end (client cancel) reports Unavailable/Unknown.
      {
        record: handled,
        expr: `sum by (cluster, member, grpc_service, grpc_method) (${perCode('grpc_type="unary"')})`,
      },
      {
        record: failed,
        expr: `sum by (cluster, member, grpc_service, grpc_method) (${perCode(`grpc_type="unary",grpc_code=~"${FAILED_CODES}"`)})`,
      },
      { record: ratio, expr: `${failed} / ${handled}` },
      {
        alert: 'EtcdProbeLatencyHigh',
        expr: compareToThreshold(
          'cluster_member_operation:etcd_monitor_probe_duration_seconds:p99_5m',
          '>',
          'etcd_monitor_threshold_max_latency_seconds',
          s.maxLatencyMs / 1000,
        ),
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd requests are slow as seen by a client.',
        description: `The p99 latency of the exporter's {{ $labels.operation }} probe against member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has been above its cluster's limit (etcd_monitor_threshold_max_latency_seconds from --max-latency-ms or clusters[].max_latency_ms; ${num(s.maxLatencyMs)} ms where the exporter exports none) for 10 minutes.`,
      },
      {
        alert: 'EtcdProbeFailing',
        expr: `${maxBy('cluster, member, operation', 'etcd_monitor_probe_success')} == 0 unless on (cluster, member) ${memberDown}`,
        forMs: 5 * MIN,
        severity: 'warning',
        summary: 'The exporter cannot read or write through an etcd member.',
        description:
          "The exporter's {{ $labels.operation }} probe through member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has failed for 5 minutes although the member answers.",
      },
      failedAlert('warning', s.grpcFailureWarningRatio, 10 * MIN),
      failedAlert('critical', s.grpcFailureCriticalRatio, 5 * MIN),
    ],
  };
}

/** Raft and disk health of single members, from etcd's own series (all available under --metrics=basic). */
export function memberGroup(s: RuleSettings): GroupDef {
  const fsync = 'cluster_member:etcd_disk_wal_fsync_duration_seconds:p99_5m';
  const commit = 'cluster_member:etcd_disk_backend_commit_duration_seconds:p99_5m';
  const slowRtt = 'cluster_member_to:etcd_network_peer_round_trip_time_seconds:slow_ratio_5m';
  const fds = 'cluster_member:etcd_monitor_member_fds:ratio';
  const edge = peerRttEdge(s.peerRttSeconds);
  const rtt = 'etcd_network_peer_round_trip_time_seconds';
  const tier = (
    alert: string,
    metric: string,
    severity: 'warning' | 'critical',
    limit: number,
    what: string,
    forMs: number,
  ) =>
    ({
      alert,
      expr: `${metric} > ${num(limit)}`,
      forMs,
      severity,
      summary: `etcd ${what} is slow.`,
      description: `The p99 ${what} latency of member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} is above ${num(limit * 1000)} ms.`,
    }) as const;
  return {
    name: 'etcd-monitor.member',
    rules: [
      { record: fsync, expr: p99('etcd_disk_wal_fsync_duration_seconds', BY_MEMBER) },
      { record: commit, expr: p99('etcd_disk_backend_commit_duration_seconds', BY_MEMBER) },
      {
        record: 'cluster_member_to:etcd_network_peer_round_trip_time_seconds:p99_5m',
        expr: p99(rtt, 'cluster, member, To'),
      },
      {
        // Share of round trips slower than a bucket edge: exact, no interpolation inside a bucket.
        record: slowRtt,
        expr: `1 - sum by (cluster, member, To) (rate(${rtt}_bucket{le="${edge}"}[5m])) / sum by (cluster, member, To) (rate(${rtt}_count[5m]))`,
      },
      {
        record: fds,
        expr: `${maxBy(BY_MEMBER, 'etcd_monitor_member_open_fds')} / ${maxBy(BY_MEMBER, 'etcd_monitor_member_max_fds')}`,
      },
      tier('EtcdHighFsyncDurations', fsync, 'warning', s.walFsyncWarningSeconds, 'WAL fsync', 10 * MIN),
      tier('EtcdHighFsyncDurations', fsync, 'critical', s.walFsyncCriticalSeconds, 'WAL fsync', 10 * MIN),
      tier(
        'EtcdHighCommitDurations',
        commit,
        'warning',
        s.backendCommitWarningSeconds,
        'backend commit',
        10 * MIN,
      ),
      tier(
        'EtcdHighCommitDurations',
        commit,
        'critical',
        s.backendCommitCriticalSeconds,
        'backend commit',
        10 * MIN,
      ),
      {
        alert: 'EtcdMemberCommunicationSlow',
        expr: `${slowRtt} > ${num(s.peerRttSlowRatio)}`,
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd peer communication is slow.',
        description: `More than ${num(s.peerRttSlowRatio * 100)}% of round trips from member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} to peer {{ $labels.To }} take longer than ${num(edge * 1000)} ms.`,
      },
      {
        // A window shorter than `for`: one election's burst never fires, failures that persist (no quorum) do.
        alert: 'EtcdHighNumberOfFailedProposals',
        expr: `max by (cluster, member) (increase(etcd_server_proposals_failed_total[10m])) > ${num(s.failedProposals)}`,
        forMs: 15 * MIN,
        severity: 'warning',
        summary: 'etcd member keeps failing raft proposals.',
        description: `Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has failed more than ${num(s.failedProposals)} raft proposals in every 10-minute window for 15 minutes.`,
      },
      {
        alert: 'EtcdApplyLag',
        expr: `${maxBy(BY_MEMBER, 'etcd_monitor_member_apply_lag_entries')} > ${num(s.applyLagEntries)}`,
        forMs: 5 * MIN,
        severity: 'warning',
        summary: 'etcd member applies committed entries too slowly.',
        description: `Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has had more than ${num(s.applyLagEntries)} committed but unapplied raft entries for 5 minutes; etcd rejects writes at 5000.`,
      },
      {
        alert: 'EtcdSlowApplies',
        expr: `max by (cluster, member) (increase(etcd_server_slow_apply_total[5m])) > ${num(s.slowApplies)}`,
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd member applies requests slowly.',
        description: `Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has logged more than ${num(s.slowApplies)} applies slower than 100 ms in every 5-minute window for 10 minutes.`,
      },
      {
        alert: 'EtcdHeartbeatSendFailures',
        expr: `max by (cluster, member) (increase(etcd_server_heartbeat_send_failures_total[5m])) > ${num(s.heartbeatFailures)}`,
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd leader sends heartbeats late.',
        description: `Leader {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has sent more than ${num(s.heartbeatFailures)} heartbeats late in every 5-minute window for 10 minutes; followers may start elections.`,
      },
      {
        alert: 'EtcdFileDescriptorsNearLimit',
        expr: `${fds} > ${num(s.fdWarningRatio)}`,
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd member is running out of file descriptors.',
        description: `Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} uses more than ${num(s.fdWarningRatio * 100)}% of its file descriptor limit.`,
      },
      {
        alert: 'EtcdFileDescriptorsNearLimit',
        expr: `${fds} > ${num(s.fdCriticalRatio)}`,
        forMs: 5 * MIN,
        severity: 'critical',
        summary: 'etcd member is running out of file descriptors.',
        description: `Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} uses more than ${num(s.fdCriticalRatio * 100)}% of its file descriptor limit; etcd panics when it cannot open a new WAL file.`,
      },
    ],
  };
}
