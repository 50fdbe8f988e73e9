import type { Thresholds } from '../config/types.js';
import type { AlarmType } from '../etcd/types.js';
import type { HealthState } from './health-state.js';
import type { MemberRates } from './member-rates.js';
import type { QuorumView } from './quorum.js';

/**
 * What the derive layer produces from snapshots: plain numbers with their meaning in the name.
 * `undefined` means "not known this round" and the series is left out rather than exported as 0.
 */

/** Derived state of one member. `member` is its etcd name, or its endpoint until the name is known. */
export interface MemberView extends MemberRates {
  readonly member: string;
  readonly endpoint: string;
  readonly memberId?: string;
  /** The exporter reached the member's status API this round. */
  readonly up: boolean;
  /** /health answered {"health":"true"}. */
  readonly healthy: boolean;
  /** healthy, slow, unreachable (from the exporter, peers see it), unhealthy or down: see derive/health-state.ts. */
  readonly healthState: HealthState;
  /** The signals behind `healthState`, in words. */
  readonly healthReason: string;
  readonly isLeader?: boolean;
  readonly isLearner?: boolean;
  readonly leaderId?: string;
  readonly raftTerm?: number;
  readonly raftIndex?: number;
  readonly raftAppliedIndex?: number;
  /** raftIndex − raftAppliedIndex from Status. */
  readonly applyLagEntries?: number;
  readonly revision?: number;
  readonly dbSizeBytes?: number;
  readonly dbSizeInUseBytes?: number;
  /** (size − in use) / size: share of the file a defragmentation would give back. */
  readonly fragmentationRatio?: number;
  readonly quotaBytes?: number;
  /** size / quota. */
  readonly quotaUsageRatio?: number;
  /** Least-squares slope of DB size over the growth window, bytes per second; reset after a shrink. */
  readonly dbGrowthBytesPerSecond?: number;
  /** (quota − size) / growth, only while growing. */
  readonly secondsUntilQuotaFull?: number;
  readonly dbAboveMaxSize?: boolean;
  readonly alarms: readonly Exclude<AlarmType, 'NONE'>[];
  /** Some member with a leader answered Status or the (cluster-wide) alarm list, so `alarms` is known, even if empty. */
  readonly alarmsKnown?: boolean;
  readonly version?: string;
  /** Set after a HashKV comparison that included this member. */
  readonly hashMismatch?: boolean;
}

export type PartitionReason =
  | 'leader_disagreement'
  | 'term_disagreement'
  | 'member_without_leader'
  | 'unreachable_but_peers_connected'
  | 'peer_stream_down';

/** Derived state of one cluster. */
export interface ClusterView extends QuorumView {
  readonly cluster: string;
  /** Quorum available, a leader, no split brain and no active alarm: the REST API's one-word verdict. */
  readonly healthy: boolean;
  readonly takenAt: number;
  readonly members: readonly MemberView[];
  readonly expectedMembers?: number;
  /** The thresholds this view was judged by (the cluster's own); exposed as etcd_monitor_threshold_*. */
  readonly thresholds: Thresholds;
  readonly hasLeader: boolean;
  readonly leaderId?: string;
  readonly leaderMember?: string;
  readonly distinctLeadersClaimed: number;
  readonly splitBrain: boolean;
  readonly staleLeader: boolean;
  readonly partitionReasons: readonly PartitionReason[];
  readonly leaderChangesTotal: number;
  readonly leaderChangesLastHour: number;
  readonly leaderChangesExceeded: boolean;
  readonly lastLeaderChangeAt?: number;
  readonly clusterIds: readonly string[];
  readonly versions: readonly string[];
  readonly alarms: readonly { readonly member: string; readonly alarm: Exclude<AlarmType, 'NONE'> }[];
  readonly hashCheck: {
    readonly revision?: number;
    readonly compared: number;
    readonly consistent?: boolean;
  };
  readonly probe: {
    readonly readP50Seconds?: number;
    readonly readP95Seconds?: number;
    readonly readP99Seconds?: number;
    readonly writeP50Seconds?: number;
    readonly writeP95Seconds?: number;
    readonly writeP99Seconds?: number;
    /** The latest health round's p99 (not the 300-result window's above) exceeds --max-latency-ms. */
    readonly aboveMaxLatency: boolean;
  };
}
