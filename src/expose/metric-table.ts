/*
 * Names and HELP of the exporter's /metrics are defined in this file: the series derived from a
 * ClusterView (ALL_METRICS) and those the process sets itself (RUNTIME_METRICS, REEXPOSE_METRICS,
 * HTTP_SERVER_METRICS, HISTORY_METRICS). prom-client names its process series (prefix etcd_monitor_).
 * The load generator's sidecar, a separate process, defines its own in src/loadgen/metrics.ts.
 * test/expose/metric-names.test.ts fails when a name is defined in any other file, or twice.
 */
import { COLLECTORS, type ClusterSnapshot } from '../collect/snapshot.js';
import type { ClusterView, MemberView } from '../derive/view.js';
import { ALARM_TYPES } from '../etcd/types.js';
import { PARTITION_REASONS } from '../derive/partition.js';
import { HEALTH_STATES } from '../derive/health-state.js';

/** One label set and its value. */
export type Point = readonly [labels: Readonly<Record<string, string>>, value: number];

/** One metric derived from a cluster's view and snapshot. */
export interface MetricDef {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labels: readonly string[];
  readonly points: (view: ClusterView, snapshot: ClusterSnapshot) => Point[];
}

const bool = (b: boolean) => (b ? 1 : 0);
/** One point per cluster from its view (none when `fn` has no value). */
const clusterValue =
  (fn: (v: ClusterView) => number | undefined) =>
  (v: ClusterView): Point[] => {
    const value = fn(v);
    return value === undefined ? [] : [[{ cluster: v.cluster }, value]];
  };
/** One point per member with a value; booleans as 1/0. */
const memberValues =
  (fn: (m: MemberView) => number | boolean | undefined) =>
  (v: ClusterView): Point[] =>
    v.members.flatMap((m): Point[] => {
      const value = fn(m);
      if (value === undefined) return [];
      return [[{ cluster: v.cluster, member: m.member }, typeof value === 'boolean' ? bool(value) : value]];
    });

const PER_CLUSTER = ['cluster'] as const;
const PER_MEMBER = ['cluster', 'member'] as const;

/** Cluster-level series derived from all members' answers together. */
export const CLUSTER_METRICS: readonly MetricDef[] = [
  {
    name: 'etcd_monitor_cluster_info',
    type: 'gauge',
    labels: ['cluster', 'cluster_id'],
    help: 'Always 1; cluster_id as reported in Status headers (more than one series means members disagree).',
    points: (v) => v.clusterIds.map((id) => [{ cluster: v.cluster, cluster_id: id }, 1]),
  },
  {
    name: 'etcd_monitor_cluster_members',
    type: 'gauge',
    labels: ['cluster', 'role'],
    help: 'Members in the member list by role (voting, learner), from Cluster.MemberList.',
    points: (v) => [
      [{ cluster: v.cluster, role: 'voting' }, v.votingMembers],
      [{ cluster: v.cluster, role: 'learner' }, v.learners],
    ],
  },
  {
    name: 'etcd_monitor_cluster_expected_members',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Voting members the operator expects (--expected-members); absent when not configured.',
    points: clusterValue((v) => v.expectedMembers),
  },
  {
    name: 'etcd_monitor_cluster_reachable',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: '1 if the exporter reached at least one member this round (Maintenance.Status).',
    points: clusterValue((v) => bool(v.membersReachable > 0)),
  },
  {
    name: 'etcd_monitor_cluster_members_reachable',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Configured members whose Maintenance.Status answered in the last round.',
    points: clusterValue((v) => v.membersReachable),
  },
  {
    name: 'etcd_monitor_cluster_members_healthy',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Members that answered Status and whose /health reported true (etcd 3.4 says false when a raft read takes over 1 s, so a slow cluster reads 0 here; see members_available).',
    points: clusterValue((v) => v.membersHealthy),
  },
  {
    name: 'etcd_monitor_cluster_members_available',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Voting members counted toward quorum: health state healthy, slow or unreachable (alive by its peers), or failing /health only because of an alarm.',
    points: clusterValue((v) => v.membersAvailable),
  },
  {
    name: 'etcd_monitor_cluster_quorum_size',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Voting members needed for quorum: floor(voting/2)+1 (learners excluded).',
    points: clusterValue((v) => v.quorumSize),
  },
  {
    name: 'etcd_monitor_cluster_quorum_available',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: "1 if available voting members (members_available) >= quorum size, or a voter's /health answered true (a committed raft read proves quorum). A slow cluster keeps quorum.",
    points: clusterValue((v) => bool(v.quorumAvailable)),
  },
  {
    name: 'etcd_monitor_cluster_failure_tolerance',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'How many more voting members may fail before quorum is lost: available voting − quorum size, at least 0.',
    points: clusterValue((v) => v.failureTolerance),
  },
  {
    name: 'etcd_monitor_cluster_below_min_available',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: '1 if available voting members (members_available) < --min-available-nodes.',
    points: clusterValue((v) => bool(v.belowMinAvailable)),
  },
  {
    name: 'etcd_monitor_cluster_has_leader',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: '1 if reachable members in the newest raft term name a leader (Maintenance.Status leader field).',
    points: clusterValue((v) => bool(v.hasLeader)),
  },
  {
    name: 'etcd_monitor_cluster_leaders_claimed',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Distinct non-zero leader IDs named by reachable members; more than 1 means they disagree.',
    points: clusterValue((v) => v.distinctLeadersClaimed),
  },
  {
    name: 'etcd_monitor_cluster_split_brain',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: '1 if two members claim leadership in the same raft term (Status leader == own ID).',
    points: clusterValue((v) => bool(v.splitBrain)),
  },
  {
    name: 'etcd_monitor_cluster_stale_leader',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: '1 if a member still claims leadership in an older term than other members report.',
    points: clusterValue((v) => bool(v.staleLeader)),
  },
  {
    name: 'etcd_monitor_cluster_partition_suspected',
    type: 'gauge',
    labels: ['cluster', 'reason'],
    help: '1 per reason that held for 2 consecutive rounds: members disagree on leader or term, a member knows no leader while others do, a member is unreachable while its peers keep a raft stream to it, or a member and its leader both answer but one has no raft stream to the other (one-way partition).',
    points: (v) =>
      PARTITION_REASONS.map((reason): Point => [
        { cluster: v.cluster, reason },
        bool(v.partitionReasons.includes(reason)),
      ]),
  },
  {
    name: 'etcd_monitor_cluster_leader_changes_total',
    type: 'counter',
    labels: PER_CLUSTER,
    help: 'Leader changes (new leader or new term) observed by this exporter since it started.',
    points: clusterValue((v) => v.leaderChangesTotal),
  },
  {
    name: 'etcd_monitor_cluster_leader_changes_last_hour',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Leader changes observed by this exporter within the last hour (compare with --max-leader-changes).',
    points: clusterValue((v) => v.leaderChangesLastHour),
  },
  {
    name: 'etcd_monitor_cluster_leader_changes_above_max',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: '1 if leader changes within the last hour exceed --max-leader-changes.',
    points: clusterValue((v) => bool(v.leaderChangesExceeded)),
  },
  {
    name: 'etcd_monitor_cluster_probe_latency_above_max',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: "1 if the p99 of the latest health round's probe reads or writes (one through each member) exceeds --max-latency-ms; clears with the first health round after recovery.",
    points: clusterValue((v) => bool(v.probe.aboveMaxLatency)),
  },
  {
    name: 'etcd_monitor_cluster_last_leader_change_timestamp_seconds',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Unix time of the last leader change this exporter observed.',
    points: clusterValue((v) =>
      v.lastLeaderChangeAt === undefined ? undefined : v.lastLeaderChangeAt / 1000,
    ),
  },
  {
    name: 'etcd_monitor_cluster_distinct_versions',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Distinct server versions among reachable members (Status version); above 1 means version skew.',
    points: clusterValue((v) => v.versions.length),
  },
  {
    name: 'etcd_monitor_cluster_hash_consistent',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Result of the last HashKV comparison (members hashed at one revision with equal compact revision): 1 all equal, 0 a member diverges; absent until two members were compared.',
    points: clusterValue((v) =>
      v.hashCheck.consistent === undefined ? undefined : bool(v.hashCheck.consistent),
    ),
  },
  {
    name: 'etcd_monitor_cluster_hash_check_revision',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Revision at which the last HashKV comparison hashed the members.',
    points: clusterValue((v) => v.hashCheck.revision),
  },
  {
    name: 'etcd_monitor_last_collection_timestamp_seconds',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Unix time when the newest collection result of this cluster arrived.',
    points: clusterValue((v) => v.takenAt / 1000),
  },
];

/**
 * Each cluster's thresholds in base units, from its own clusters[] entry or the flags. The shipped alert
 * rules compare against these series, so changing a flag or a cluster's value changes alerting at the
 * next rule evaluation; the rendered defaults stand in only where a cluster has no such series.
 */
export const THRESHOLD_METRICS: readonly MetricDef[] = [
  {
    name: 'etcd_monitor_threshold_max_latency_seconds',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Probe p99 latency above which the cluster is reported as slow (--max-latency-ms or clusters[].max_latency_ms).',
    points: clusterValue((v) => v.thresholds.maxLatencyMs / 1000),
  },
  {
    name: 'etcd_monitor_threshold_max_db_size_bytes',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Database size above which a member is reported as too large (--max-db-size-mb or clusters[].max_db_size_mb).',
    points: clusterValue((v) => v.thresholds.maxDbSizeBytes),
  },
  {
    name: 'etcd_monitor_threshold_min_available_members',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'Fewer healthy voting members than this is reported (--min-available-nodes or clusters[].min_available_nodes).',
    points: clusterValue((v) => v.thresholds.minAvailableNodes),
  },
  {
    name: 'etcd_monitor_threshold_max_leader_changes_per_hour',
    type: 'gauge',
    labels: PER_CLUSTER,
    help: 'More leader changes within one hour than this is reported (--max-leader-changes or clusters[].max_leader_changes).',
    points: clusterValue((v) => v.thresholds.maxLeaderChangesPerHour),
  },
];

/** Per-member series, from that member's own Status, /health, alarms and /metrics. */
export const MEMBER_METRICS: readonly MetricDef[] = [
  {
    name: 'etcd_monitor_member_info',
    type: 'gauge',
    labels: ['cluster', 'member', 'member_id', 'endpoint', 'version'],
    help: 'Always 1; member ID (hex), configured endpoint and server version from Status.',
    points: (v) =>
      v.members.map((m): Point => [
        {
          cluster: v.cluster,
          member: m.member,
          member_id: m.memberId ?? '',
          endpoint: m.endpoint,
          version: m.version ?? '',
        },
        1,
      ]),
  },
  {
    name: 'etcd_monitor_member_up',
    type: 'gauge',
    labels: PER_MEMBER,
    help: "1 if the member's Maintenance.Status answered in the last round.",
    points: memberValues((m) => m.up),
  },
  {
    name: 'etcd_monitor_member_healthy',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '1 if the member\'s /health answered {"health":"true"}.',
    points: memberValues((m) => m.healthy),
  },
  {
    name: 'etcd_monitor_member_health_state',
    type: 'gauge',
    labels: ['cluster', 'member', 'state'],
    help: "1 for the member's current health state, 0 for the others: healthy (/health true), slow (/health failed but Status names the same leader and term and the raft index advances, or the probe write through it committed), unreachable (no Status, but a peer streams raft to it and keeps receiving raft traffic from it), unhealthy (answers, none of the above), down.",
    points: (v) =>
      v.members.flatMap((m) =>
        HEALTH_STATES.map((state): Point => [
          { cluster: v.cluster, member: m.member, state },
          bool(m.healthState === state),
        ]),
      ),
  },
  {
    name: 'etcd_monitor_member_is_leader',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '1 if this member is the leader the cluster agrees on.',
    points: memberValues((m) => m.isLeader),
  },
  {
    name: 'etcd_monitor_member_is_learner',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '1 if Status reports the member as a raft learner (non-voting).',
    points: memberValues((m) => m.isLearner),
  },
  {
    name: 'etcd_monitor_member_raft_term',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Raft term from Status.',
    points: memberValues((m) => m.raftTerm),
  },
  {
    name: 'etcd_monitor_member_raft_index',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Raft committed index from Status.',
    points: memberValues((m) => m.raftIndex),
  },
  {
    name: 'etcd_monitor_member_raft_applied_index',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Raft applied index from Status.',
    points: memberValues((m) => m.raftAppliedIndex),
  },
  {
    name: 'etcd_monitor_member_apply_lag_entries',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Committed but not yet applied raft entries: Status raftIndex − raftAppliedIndex.',
    points: memberValues((m) => m.applyLagEntries),
  },
  {
    name: 'etcd_monitor_member_revision',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'MVCC store revision from the Status header.',
    points: memberValues((m) => m.revision),
  },
  {
    name: 'etcd_monitor_member_db_size_bytes',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Physically allocated backend size from Status dbSize.',
    points: memberValues((m) => m.dbSizeBytes),
  },
  {
    name: 'etcd_monitor_member_db_size_in_use_bytes',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Logically used backend size from Status dbSizeInUse.',
    points: memberValues((m) => m.dbSizeInUseBytes),
  },
  {
    name: 'etcd_monitor_member_db_fragmentation_ratio',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Share of the file a defragmentation would free: (dbSize − dbSizeInUse) / dbSize.',
    points: memberValues((m) => m.fragmentationRatio),
  },
  {
    name: 'etcd_monitor_member_db_quota_bytes',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Backend quota from the member metric etcd_server_quota_backend_bytes.',
    points: memberValues((m) => m.quotaBytes),
  },
  {
    name: 'etcd_monitor_member_db_quota_usage_ratio',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'dbSize / quota; etcd raises NOSPACE when it reaches 1.',
    points: memberValues((m) => m.quotaUsageRatio),
  },
  {
    name: 'etcd_monitor_member_db_growth_bytes_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Least-squares slope of dbSize over up to the last hour, restarted whenever the DB shrinks (defragmentation).',
    points: memberValues((m) => m.dbGrowthBytesPerSecond),
  },
  {
    name: 'etcd_monitor_member_db_seconds_until_quota_full',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '(quota − dbSize) / growth rate; present only while the DB grows.',
    points: memberValues((m) => m.secondsUntilQuotaFull),
  },
  {
    name: 'etcd_monitor_member_db_above_max_size',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'dbSize from Status is above --max-db-size-mb.',
    points: memberValues((m) => m.dbAboveMaxSize),
  },
  {
    name: 'etcd_monitor_member_alarm',
    type: 'gauge',
    labels: ['cluster', 'member', 'alarm'],
    help: '1 per active alarm of this member (NOSPACE, CORRUPT) from Maintenance.Status errors or Maintenance.Alarm, freshest answer; absent while unknown.',
    points: (v) =>
      v.members.flatMap((m) =>
        m.alarmsKnown
          ? ALARM_TYPES.map((alarm): Point => [
              { cluster: v.cluster, member: m.member, alarm },
              bool(m.alarms.includes(alarm)),
            ])
          : [],
      ),
  },
  {
    name: 'etcd_monitor_member_hash_mismatch',
    type: 'gauge',
    labels: PER_MEMBER,
    help: "1 if this member's HashKV differed from the majority in the last comparison (silent data divergence).",
    points: memberValues((m) => m.hashMismatch),
  },
  {
    name: 'etcd_monitor_member_cpu_cores_used',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'CPU seconds per second used by the member process: rate of process_cpu_seconds_total between scrapes.',
    points: memberValues((m) => m.cpuSecondsPerSecond),
  },
  {
    name: 'etcd_monitor_member_resident_memory_bytes',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Resident memory of the member process (process_resident_memory_bytes).',
    points: memberValues((m) => m.residentMemoryBytes),
  },
  {
    name: 'etcd_monitor_member_open_fds',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Open file descriptors of the member process (process_open_fds).',
    points: memberValues((m) => m.openFds),
  },
  {
    name: 'etcd_monitor_member_max_fds',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'File descriptor limit of the member process (process_max_fds).',
    points: memberValues((m) => m.maxFds),
  },
  {
    name: 'etcd_monitor_member_peer_sent_bytes_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Raft traffic sent to peers: rate of etcd_network_peer_sent_bytes_total summed over peers.',
    points: memberValues((m) => m.peerSentBytesPerSecond),
  },
  {
    name: 'etcd_monitor_member_peer_received_bytes_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Raft traffic received from peers: rate of etcd_network_peer_received_bytes_total.',
    points: memberValues((m) => m.peerReceivedBytesPerSecond),
  },
  {
    name: 'etcd_monitor_member_client_sent_bytes_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Bytes sent to gRPC clients: rate of etcd_network_client_grpc_sent_bytes_total.',
    points: memberValues((m) => m.clientSentBytesPerSecond),
  },
  {
    name: 'etcd_monitor_member_client_received_bytes_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Bytes received from gRPC clients: rate of etcd_network_client_grpc_received_bytes_total.',
    points: memberValues((m) => m.clientReceivedBytesPerSecond),
  },
  {
    name: 'etcd_monitor_member_requests_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Unary gRPC requests started per second (grpc_server_started_total, grpc_type="unary").',
    points: memberValues((m) => m.requestsPerSecond),
  },
  {
    name: 'etcd_monitor_member_request_errors_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Unary gRPC requests per second that ended in a server-side failure code; Canceled and Watch/Lease stream ends are not counted.',
    points: memberValues((m) => m.requestErrorsPerSecond),
  },
  {
    name: 'etcd_monitor_member_proposals_committed_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Raft proposals committed per second: change of the etcd_server_proposals_committed_total gauge.',
    points: memberValues((m) => m.proposalsCommittedPerSecond),
  },
  {
    name: 'etcd_monitor_member_proposals_applied_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Raft proposals applied per second: change of the etcd_server_proposals_applied_total gauge.',
    points: memberValues((m) => m.proposalsAppliedPerSecond),
  },
  {
    name: 'etcd_monitor_member_proposals_pending',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Proposals queued and not yet committed (etcd_server_proposals_pending).',
    points: memberValues((m) => m.proposalsPending),
  },
  {
    name: 'etcd_monitor_member_proposals_failed_per_second',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Failed proposals per second: rate of etcd_server_proposals_failed_total.',
    points: memberValues((m) => m.proposalsFailedPerSecond),
  },
  {
    name: 'etcd_monitor_member_wal_fsync_p99_seconds',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '99th percentile WAL fsync latency between the last two scrapes (etcd_disk_wal_fsync_duration_seconds); absent without new fsyncs.',
    points: memberValues((m) => m.walFsyncP99Seconds),
  },
  {
    name: 'etcd_monitor_member_backend_commit_p99_seconds',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '99th percentile backend commit latency between the last two scrapes (etcd_disk_backend_commit_duration_seconds).',
    points: memberValues((m) => m.backendCommitP99Seconds),
  },
  {
    name: 'etcd_monitor_member_peer_round_trip_p99_seconds',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Worst per-peer 99th percentile round trip between the last two scrapes (etcd_network_peer_round_trip_time_seconds).',
    points: memberValues((m) => m.peerRoundTripP99Seconds),
  },
  {
    name: 'etcd_monitor_member_snapshot_save_p99_seconds',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '99th percentile raft snapshot save time between the last two scrapes (etcd_debugging_snap_save_total_duration_seconds).',
    points: memberValues((m) => m.snapshotSaveP99Seconds),
  },
  {
    name: 'etcd_monitor_member_compaction_p99_seconds',
    type: 'gauge',
    labels: PER_MEMBER,
    help: '99th percentile DB compaction time between the last two scrapes (etcd_debugging_mvcc_db_compaction_total_duration_milliseconds, converted).',
    points: memberValues((m) => m.compactionP99Seconds),
  },
  {
    name: 'etcd_monitor_member_watchers',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Watchers on this member (etcd_debugging_mvcc_watcher_total).',
    points: memberValues((m) => m.watchers),
  },
  {
    name: 'etcd_monitor_member_watch_streams',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Open Watch streams: grpc_server_started_total − grpc_server_handled_total for Watch.',
    points: memberValues((m) => m.watchStreams),
  },
  {
    name: 'etcd_monitor_member_lease_streams',
    type: 'gauge',
    labels: PER_MEMBER,
    help: 'Open LeaseKeepAlive streams: started − handled for LeaseKeepAlive.',
    points: memberValues((m) => m.leaseStreams),
  },
];

/** The exporter's own view of each collector against each member. */
export const SELF_METRICS: readonly MetricDef[] = [
  {
    name: 'etcd_monitor_collector_success',
    type: 'gauge',
    labels: ['cluster', 'member', 'collector'],
    help: '1 if the last run of this collector against this member succeeded.',
    points: (v, s) => collectorPoints(v, s, (r) => (r.ok ? 1 : 0)),
  },
  {
    name: 'etcd_monitor_collector_duration_seconds',
    type: 'gauge',
    labels: ['cluster', 'member', 'collector'],
    help: 'Wall time of the last run of this collector against this member.',
    points: (v, s) => collectorPoints(v, s, (r) => r.durationSeconds),
  },
  {
    name: 'etcd_monitor_collector_errors_total',
    type: 'counter',
    labels: ['cluster', 'member', 'collector', 'code'],
    help: 'Failed runs of this collector against this member since it was first watched, by stable error code (CONNECTION_REFUSED, CONNECT_TIMEOUT, REQUEST_TIMEOUT, TLS_CERT_EXPIRED, TLS_BAD_CERTIFICATE, UNAUTHENTICATED, GRPC_UNAVAILABLE, ...; README lists them).',
    points: (v, s) =>
      s.members.flatMap((m) => {
        const name = v.members.find((mv) => mv.endpoint === m.endpoint)?.member ?? m.endpoint;
        return COLLECTORS.flatMap((collector) =>
          Object.entries(m.errorCounts?.[collector] ?? {}).map(([code, count]): Point => [
            { cluster: v.cluster, member: name, collector, code },
            count,
          ]),
        );
      }),
  },
];

function collectorPoints(
  v: ClusterView,
  s: ClusterSnapshot,
  value: (r: { ok: boolean; durationSeconds: number }) => number,
): Point[] {
  return s.members.flatMap((m) => {
    const name = v.members.find((mv) => mv.endpoint === m.endpoint)?.member ?? m.endpoint;
    return COLLECTORS.flatMap((collector): Point[] => {
      const result = m[collector];
      return result ? [[{ cluster: v.cluster, member: name, collector }, value(result)]] : [];
    });
  });
}

/** Every table above, in exposition order. */
export const ALL_METRICS: readonly MetricDef[] = [
  ...CLUSTER_METRICS,
  ...THRESHOLD_METRICS,
  ...MEMBER_METRICS,
  ...SELF_METRICS,
];

/** A series set by the process itself rather than derived from a view (no `points`). */
export interface OwnMetricDef {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly labels: readonly string[];
}

/**
 * Set at run time, not derived from a ClusterView (src/expose/registry.ts creates them): the version,
 * the probe's own timings (observed by the monitor as each probe ends), and one info series whose label
 * names are, besides `cluster`, the configured tag keys.
 */
export const RUNTIME_METRICS = {
  buildInfo: {
    name: 'etcd_monitor_build_info',
    type: 'gauge',
    labels: ['version', 'nodejs_version'],
    help: 'Always 1; version of etcd-monitor and of the Node.js runtime it runs on.',
  },
  probeDuration: {
    name: 'etcd_monitor_probe_duration_seconds',
    type: 'histogram',
    labels: ['cluster', 'member', 'operation'],
    help: 'Client-seen latency of the active probe: a put (write) and a linearizable get (read) of a lease-bound key through each member.',
  },
  probeSuccess: {
    name: 'etcd_monitor_probe_success',
    type: 'gauge',
    labels: ['cluster', 'member', 'operation'],
    help: '1 if the last probe write and read through this member succeeded.',
  },
  shardInfo: {
    name: 'etcd_monitor_shard_info',
    type: 'gauge',
    labels: ['shard_index', 'shard_count'],
    help: 'Always 1; which of --shard-count replicas this exporter is (--shard-index): it serves only the clusters whose name hashes to its index (0 of 1 when not sharded).',
  },
  clusterTagsInfo: {
    name: 'etcd_monitor_cluster_tags_info',
    type: 'gauge',
    labels: ['cluster'],
    help: 'Always 1; the tags configured for each cluster (clusters[].tags in the config file) as labels.',
  },
} as const satisfies Record<string, OwnMetricDef>;

/** Re-exposure bounds (src/expose/reexpose.ts), set by the monitor after each metrics round. */
export const REEXPOSE_METRICS = {
  dropped: {
    name: 'etcd_monitor_reexpose_dropped',
    type: 'gauge',
    labels: ['cluster', 'member'],
    help: "1 if this member's own series are left out of /metrics because its last /metrics read had more than --reexpose-max-series of them (its derived etcd_monitor_* series stay).",
  },
} as const satisfies Record<string, OwnMetricDef>;

/** The exporter's own HTTP server (src/server/connection-limit.ts), rendered per scrape. */
export const HTTP_SERVER_METRICS = {
  open: {
    name: 'etcd_monitor_http_connections_open',
    type: 'gauge',
    labels: [],
    help: "Open connections to the exporter's HTTP server (at most --web.max-connections).",
  },
  dropped: {
    name: 'etcd_monitor_http_connections_dropped_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Connections the exporter closed: reason="evicted_idle" (the oldest without a request in flight, to admit a new one over --web.max-connections), "over_limit" (a new one while every connection had a request in flight), "no_request" (no complete request within 10 s of connecting).',
  },
} as const satisfies Record<string, OwnMetricDef>;

/** Series of the persisted histories (src/history), rendered per scrape from their stats. */
export const HISTORY_METRICS = {
  persistent: {
    name: 'etcd_monitor_history_persistent',
    type: 'gauge',
    labels: ['history'],
    help: '1 if this history (alerts, leader) is written to --data-dir; 0 if the directory was unusable at start-up and it is kept in memory only.',
  },
  events: {
    name: 'etcd_monitor_history_events',
    type: 'gauge',
    labels: ['history'],
    help: 'Events held in this history (at most 1000).',
  },
  corrupt: {
    name: 'etcd_monitor_history_corrupt_lines_skipped_total',
    type: 'counter',
    labels: ['history'],
    help: 'Lines of the history file skipped at start-up because they were not valid events (torn write, damage).',
  },
  writeFailures: {
    name: 'etcd_monitor_history_write_failures_total',
    type: 'counter',
    labels: ['history'],
    help: 'Writes to the history file that failed (e.g. ENOSPC); the events stay in memory and the write is retried.',
  },
  pending: {
    name: 'etcd_monitor_history_pending_events',
    type: 'gauge',
    labels: ['history'],
    help: 'Events not yet on disk because their write failed.',
  },
  compactions: {
    name: 'etcd_monitor_history_compactions_total',
    type: 'counter',
    labels: ['history'],
    help: 'Rewrites of the history file down to the retained events (new file, fsync, atomic rename).',
  },
  alertsFiring: {
    name: 'etcd_monitor_alerts_firing',
    type: 'gauge',
    labels: [],
    help: 'Alerts the webhook receiver holds as firing (bounded; see etcd_monitor_alerts_dropped_total).',
  },
  alertsDropped: {
    name: 'etcd_monitor_alerts_dropped_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Firing alerts dropped: reason="expired" (not re-sent within --alerts.resolve-timeout), "over_capacity" (more than 10,000 firing, least recently notified first).',
  },
  alertsIgnored: {
    name: 'etcd_monitor_alerts_ignored_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Alerts received by the webhook and not recorded: reason="watchdog" (always-firing alerts belong to a dead-man\'s switch).',
  },
} as const satisfies Record<string, OwnMetricDef>;
