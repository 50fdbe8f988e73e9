import type { MemberListEntry } from '../etcd/types.js';
import type { ResolvedMember } from './identity.js';

/** Membership and quorum of a cluster. */
export interface QuorumView {
  readonly votingMembers: number;
  readonly learners: number;
  readonly membersReachable: number;
  readonly membersHealthy: number;
  readonly quorumSize: number;
  readonly quorumAvailable: boolean;
  readonly failureTolerance: number;
  readonly belowMinAvailable: boolean;
}

/** A member counts as healthy when the exporter reached it and its own /health said true. */
export const isHealthy = (m: ResolvedMember): boolean =>
  m.status !== undefined && m.snapshot.health?.ok === true && m.snapshot.health.value.healthy;

/**
 * A member counts toward quorum when it is healthy, or when its only fault is an active alarm: etcd 3.4
 * answers /health false for any alarm (NOSPACE), yet such a member still follows a leader and serves
 * reads — reporting that as quorum loss would page for the wrong problem.
 */
export const isAvailable = (m: ResolvedMember, alarmsActive: boolean): boolean =>
  isHealthy(m) ||
  (alarmsActive && m.status !== undefined && m.status.leaderId !== '0' && m.snapshot.health?.ok === true);

/**
 * Quorum is counted over voting members of the member list (learners never vote). Without any member
 * list (nothing reachable) each configured endpoint is assumed to be one voting member.
 */
export function deriveQuorum(
  members: readonly ResolvedMember[],
  memberList: readonly MemberListEntry[] | undefined,
  minAvailableNodes: number,
  alarmsActive = false,
): QuorumView {
  const voters = memberList ? memberList.filter((m) => !m.isLearner) : undefined;
  const votingMembers = voters ? voters.length : members.length;
  const learners = memberList ? memberList.length - votingMembers : 0;
  const isVoter = (m: ResolvedMember) => (voters ? voters.some((v) => v.id === m.id) : true);
  const membersReachable = members.filter((m) => m.status !== undefined).length;
  const healthyVoters = members.filter((m) => isVoter(m) && isAvailable(m, alarmsActive)).length;
  const quorumSize = Math.floor(votingMembers / 2) + 1;
  return {
    votingMembers,
    learners,
    membersReachable,
    membersHealthy: members.filter(isHealthy).length,
    quorumSize,
    quorumAvailable: healthyVoters >= quorumSize,
    failureTolerance: Math.max(0, healthyVoters - quorumSize),
    belowMinAvailable: healthyVoters < minAvailableNodes,
  };
}
