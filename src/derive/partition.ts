import { activeStreams, leaderHearsNothingFrom, peersStreamingTo, type PeerTraffic } from './health-state.js';
import type { PartitionReason } from './view.js';
import type { ResolvedMember } from './identity.js';

export const PARTITION_REASONS: readonly PartitionReason[] = [
  'leader_disagreement',
  'term_disagreement',
  'member_without_leader',
  'unreachable_but_peers_connected',
  'peer_stream_down',
];

/**
 * Signs, in this round alone, that members do not see the same cluster. Elections make the first
 * three briefly true, so the caller only reports a reason that persists over consecutive rounds.
 */
export function partitionSignals(
  members: readonly ResolvedMember[],
  traffic: ReadonlyMap<string, PeerTraffic> = new Map(),
): Set<PartitionReason> {
  const reasons = new Set<PartitionReason>();
  const reachable = members.filter((m) => m.status);
  const leaders = new Set(reachable.map((m) => m.status?.leaderId).filter((id) => id !== '0'));
  if (leaders.size > 1) reasons.add('leader_disagreement');
  if (new Set(reachable.map((m) => m.status?.raftTerm)).size > 1) reasons.add('term_disagreement');
  if (leaders.size > 0 && reachable.some((m) => m.status?.leaderId === '0'))
    reasons.add('member_without_leader');
  // A member we cannot reach while its peers still hold an open raft stream to it: the fault is
  // between the exporter (or clients) and that member, not the member itself.
  for (const member of members) {
    if (member.status || !member.id) continue;
    if (peersStreamingTo(member, members).length > 0) reasons.add('unreachable_but_peers_connected');
  }
  if (peerStreamDown(reachable, traffic)) reasons.add('peer_stream_down');
  return reasons;
}

/**
 * A member and the leader it names both answer Status, yet one of them has no active raft stream to the
 * other (etcd_network_active_peers{Local=<self>,Remote=<other>} 0 or never created), or the leader's last
 * two scrapes show no bytes from it (etcd 3.5 keeps such a stream "active": leaderHearsNothingFrom):
 * traffic flows at most one way between them — a one-way partition that Status alone never shows (the
 * follower keeps hearing the leader's heartbeats, so it names the leader and never campaigns). Judged
 * only from /metrics that answered; a member whose scrape failed is no evidence either way.
 */
function peerStreamDown(
  reachable: readonly ResolvedMember[],
  traffic: ReadonlyMap<string, PeerTraffic>,
): boolean {
  return reachable.some((member) => {
    const leaderId = member.status?.leaderId;
    if (!member.id || !leaderId || leaderId === '0' || leaderId === member.id) return false;
    const leader = reachable.find((m) => m.id === leaderId);
    if (!leader) return false;
    return (
      activeStreams(member, leaderId) === 0 ||
      activeStreams(leader, member.id) === 0 ||
      leaderHearsNothingFrom(leader, member.id, traffic)
    );
  });
}

/** Reasons judged from members' /metrics alone: they can change only when a new scrape arrived. */
const SCRAPE_REASONS: ReadonlySet<PartitionReason> = new Set(['peer_stream_down']);

/**
 * Consecutive rounds each reason has held. Derivation runs after every health and metrics round, but a
 * /metrics-only sign changes only with a new scrape; counting it in rounds without one would let a single
 * scrape (a stream reconnecting) pass for two. Such a sign's streak only grows when `newScrape`.
 */
export function nextPartitionStreaks(
  previous: ReadonlyMap<PartitionReason, number>,
  signals: ReadonlySet<PartitionReason>,
  newScrape: boolean,
): Map<PartitionReason, number> {
  return new Map(
    PARTITION_REASONS.map((r) => {
      if (!signals.has(r)) return [r, 0];
      const before = previous.get(r) ?? 0;
      return [r, SCRAPE_REASONS.has(r) && !newScrape ? Math.max(1, before) : before + 1];
    }),
  );
}
