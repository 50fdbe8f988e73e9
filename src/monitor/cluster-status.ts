import type { ClusterView, PartitionReason } from '../derive/view.js';

/*
 * A cluster's status, built once from its ClusterView for both outward shapes: the library's
 * `clusterStatus()` (camelCase, times as Date, the first eleven facts) and GET /api/v1/cluster/status
 * (every fact, snake_case keys, times as ISO 8601 strings or null). The REST keys are the camelCase
 * keys mapped by one rule (snakeCase below), in the same order, so the two cannot drift apart.
 */

/** Cluster status as the library returns it (camelCase; times as Date). */
export interface ClusterStatus {
  readonly cluster: string;
  readonly healthy: boolean;
  readonly leaderId: string | null;
  readonly memberCount: number;
  readonly quorumSize: number;
  readonly hasLeader: boolean;
  readonly leaderChanges: number;
  readonly lastLeaderChange: Date | null;
  readonly networkPartition: boolean;
  readonly alarms: readonly { readonly member: string; readonly type: string }[];
  readonly lastCheck: Date;
}

/** Everything GET /api/v1/cluster/status reports, before its keys are mapped to snake_case. */
export interface ClusterStatusDetail extends ClusterStatus {
  readonly membersHealthy: number;
  readonly membersAvailable: number;
  readonly quorumAvailable: boolean;
  readonly failureTolerance: number;
  readonly splitBrain: boolean;
  readonly staleLeader: boolean;
  readonly leaderChangesLastHour: number;
  readonly partitionReasons: readonly PartitionReason[];
}

/** The status facts of one view, in the order the REST answer lists them. */
export function clusterStatusDetail(v: ClusterView): ClusterStatusDetail {
  return {
    cluster: v.cluster,
    healthy: v.healthy,
    leaderId: v.leaderId ?? null,
    memberCount: v.votingMembers + v.learners,
    membersHealthy: v.membersHealthy,
    membersAvailable: v.membersAvailable,
    quorumSize: v.quorumSize,
    quorumAvailable: v.quorumAvailable,
    failureTolerance: v.failureTolerance,
    hasLeader: v.hasLeader,
    splitBrain: v.splitBrain,
    staleLeader: v.staleLeader,
    leaderChanges: v.leaderChangesTotal,
    leaderChangesLastHour: v.leaderChangesLastHour,
    lastLeaderChange: v.lastLeaderChangeAt === undefined ? null : new Date(v.lastLeaderChangeAt),
    networkPartition: v.partitionReasons.length > 0,
    partitionReasons: v.partitionReasons,
    alarms: v.alarms.map((a) => ({ member: a.member, type: a.alarm })),
    lastCheck: new Date(v.takenAt),
  };
}

/** The library's status: the detail without the facts only the REST answer carries. */
export function clusterStatus(v: ClusterView): ClusterStatus {
  const {
    membersHealthy: _membersHealthy,
    membersAvailable: _membersAvailable,
    quorumAvailable: _quorumAvailable,
    failureTolerance: _failureTolerance,
    splitBrain: _splitBrain,
    staleLeader: _staleLeader,
    leaderChangesLastHour: _leaderChangesLastHour,
    partitionReasons: _partitionReasons,
    ...status
  } = clusterStatusDetail(v);
  return status;
}

/** `leaderChangesLastHour` -> `leader_changes_last_hour`. */
const snakeCase = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The body of GET /api/v1/cluster/status: the detail with snake_case keys and ISO 8601 times. */
export function clusterStatusJson(v: ClusterView): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(clusterStatusDetail(v)).map(([key, value]) => [
      snakeCase(key),
      value instanceof Date ? value.toISOString() : value,
    ]),
  );
}
