/**
 * Plain data shapes of what etcd answers, normalised from etcd3's gRPC objects or the JSON gateway.
 * IDs are lower-case hex (as etcdctl prints them and as etcd_server_id labels them); 64-bit counters
 * become numbers, which is exact up to 2^53 — far beyond any real revision or raft index.
 */

/** Maintenance.Status of one member, as that member sees the cluster. */
export interface MemberStatus {
  readonly memberId: string;
  readonly clusterId: string;
  /** Member ID this member believes is leader; '0' when it knows none. */
  readonly leaderId: string;
  readonly raftTerm: number;
  readonly raftIndex: number;
  readonly raftAppliedIndex: number;
  readonly revision: number;
  readonly dbSizeBytes: number;
  readonly dbSizeInUseBytes: number;
  readonly version: string;
  readonly isLearner: boolean;
  /** Alarm/health descriptions etcd attaches to the status (e.g. "memberID:... alarm:NOSPACE"). */
  readonly errors: readonly string[];
}

/** One entry of Cluster.MemberList. A member added but never started has an empty name and no client URLs. */
export interface MemberListEntry {
  readonly id: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export type AlarmType = 'NOSPACE' | 'CORRUPT' | 'NONE';
export const ALARM_TYPES: readonly Exclude<AlarmType, 'NONE'>[] = ['NOSPACE', 'CORRUPT'];

/** One active alarm from Maintenance.Alarm(GET). */
export interface AlarmEntry {
  readonly memberId: string;
  readonly alarm: AlarmType;
}

/** Result of GET /health on one member. */
export interface MemberHealth {
  readonly healthy: boolean;
  readonly reason: string;
}

/** Client-seen latency of the active probe through one member. */
export interface ProbeResult {
  readonly writeSeconds: number;
  readonly readSeconds: number;
}

/** Maintenance.HashKV of one member at one revision: comparable only between equal compact revisions. */
export interface MemberHashKv {
  readonly revision: number;
  readonly hash: number;
  readonly compactRevision: number;
}
