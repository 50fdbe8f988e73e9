import type { ResolvedMember } from './identity.js';

/** Who leads, as the members that answered see it. */
export interface LeadershipView {
  readonly hasLeader: boolean;
  readonly leaderId?: string;
  readonly leaderTerm?: number;
  /** Distinct non-zero leader IDs the reachable members name. */
  readonly distinctLeadersClaimed: number;
  /** Two members claim leadership in the same term: raft's safety is broken or IDs collide. */
  readonly splitBrain: boolean;
  /** A member still claims leadership while others are already in a newer term. */
  readonly staleLeader: boolean;
}

/**
 * Derives leadership from each member's own Status. The leader is the one named by members in the
 * newest term; with CheckQuorum a real split brain is nearly unobservable, so any sign of it matters.
 */
export function deriveLeadership(members: readonly ResolvedMember[]): LeadershipView {
  const statuses = members.flatMap((m) => (m.status ? [m.status] : []));
  if (statuses.length === 0)
    return { hasLeader: false, distinctLeadersClaimed: 0, splitBrain: false, staleLeader: false };
  const maxTerm = Math.max(...statuses.map((s) => s.raftTerm));
  const named = new Set(statuses.map((s) => s.leaderId).filter((id) => id !== '0'));
  const selfClaims = statuses.filter((s) => s.leaderId === s.memberId && s.memberId !== '0');
  const claimsByTerm = new Map<number, number>();
  for (const claim of selfClaims)
    claimsByTerm.set(claim.raftTerm, (claimsByTerm.get(claim.raftTerm) ?? 0) + 1);
  const votes = new Map<string, number>();
  for (const s of statuses) {
    if (s.raftTerm === maxTerm && s.leaderId !== '0') votes.set(s.leaderId, (votes.get(s.leaderId) ?? 0) + 1);
  }
  const [leaderId] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
  return {
    hasLeader: leaderId !== undefined,
    ...(leaderId !== undefined ? { leaderId, leaderTerm: maxTerm } : {}),
    distinctLeadersClaimed: named.size,
    splitBrain: [...claimsByTerm.values()].some((count) => count > 1),
    staleLeader: selfClaims.some((claim) => claim.raftTerm < maxTerm),
  };
}
