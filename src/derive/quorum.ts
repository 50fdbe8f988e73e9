import type { MemberListEntry } from '../etcd/types.js';
import { countsTowardQuorum, type HealthState } from './health-state.js';
import type { ResolvedMember } from './identity.js';

/** Membership and quorum of a cluster. */
export interface QuorumView {
  readonly votingMembers: number;
  readonly learners: number;
  readonly membersReachable: number;
  /** Members (learners included) whose /health answered true: the plain /health count, nothing derived. */
  readonly membersHealthy: number;
  /** Voting members counted toward quorum: healthy, slow, unreachable-but-alive, or failing /health only by an alarm. */
  readonly membersAvailable: number;
  readonly quorumSize: number;
  readonly quorumAvailable: boolean;
  readonly failureTolerance: number;
  readonly belowMinAvailable: boolean;
}

/** A member counts as healthy when the exporter reached it and its own /health said true. */
export const isHealthy = (m: ResolvedMember): boolean =>
  m.status !== undefined && m.snapshot.health?.ok === true && m.snapshot.health.value.healthy;

/**
 * A member counts toward quorum when its health state says raft works on it (healthy, slow, or
 * unreachable from the exporter while its peers stream to it), or when its only fault is an active
 * alarm: etcd 3.4 answers /health false for any alarm (NOSPACE), yet such a member still follows a
 * leader and serves reads — reporting that as quorum loss would page for the wrong problem.
 */
export const isAvailable = (m: ResolvedMember, state: HealthState, alarmsActive: boolean): boolean =>
  countsTowardQuorum(state) ||
  (alarmsActive && m.status !== undefined && m.status.leaderId !== '0' && m.snapshot.health?.ok === true);

/**
 * Quorum is counted over voting members of the member list (learners never vote). Without any member
 * list (nothing reachable) each configured endpoint is assumed to be one voting member.
 *
 * A /health that answered true is itself proof of quorum: etcd 3.4 answers it only after a raft QGET
 * committed (a majority acknowledged it within 1 s). So quorum is available when enough voters are
 * available, or when any voter's /health just said true — even if the exporter sees too few members
 * to count a majority itself (one configured endpoint, the others unreachable from here).
 */
export function deriveQuorum(
  members: readonly ResolvedMember[],
  memberList: readonly MemberListEntry[] | undefined,
  minAvailableNodes: number,
  states: ReadonlyMap<ResolvedMember, HealthState>,
  alarmsActive = false,
): QuorumView {
  const voters = memberList ? memberList.filter((m) => !m.isLearner) : undefined;
  const votingMembers = voters ? voters.length : members.length;
  const learners = memberList ? memberList.length - votingMembers : 0;
  const isVoter = (m: ResolvedMember) => (voters ? voters.some((v) => v.id === m.id) : true);
  const membersReachable = members.filter((m) => m.status !== undefined).length;
  const availableVoters = members.filter(
    (m) => isVoter(m) && isAvailable(m, states.get(m) ?? 'down', alarmsActive),
  ).length;
  const quorumSize = Math.floor(votingMembers / 2) + 1;
  const provenByHealth = members.some((m) => isVoter(m) && isHealthy(m) && m.status?.leaderId !== '0');
  return {
    votingMembers,
    learners,
    membersReachable,
    membersHealthy: members.filter(isHealthy).length,
    membersAvailable: availableVoters,
    quorumSize,
    quorumAvailable: availableVoters >= quorumSize || provenByHealth,
    failureTolerance: Math.max(0, availableVoters - quorumSize),
    belowMinAvailable: availableVoters < minAvailableNodes,
  };
}
