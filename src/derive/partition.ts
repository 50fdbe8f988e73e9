import { samplesOf } from '../etcd/parse-prom-text.js';
import type { PartitionReason } from './view.js';
import type { ResolvedMember } from './identity.js';

export const PARTITION_REASONS: readonly PartitionReason[] = [
  'leader_disagreement',
  'term_disagreement',
  'member_without_leader',
  'unreachable_but_peers_connected',
];

/**
 * Signs, in this round alone, that members do not see the same cluster. Elections make the first
 * three briefly true, so the caller only reports a reason that persists over consecutive rounds.
 */
export function partitionSignals(members: readonly ResolvedMember[]): Set<PartitionReason> {
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
    const peersConnected = reachable.some((peer) => {
      const metrics = peer.snapshot.metrics?.ok ? peer.snapshot.metrics.value : undefined;
      if (!metrics) return false;
      return samplesOf(metrics, 'etcd_network_active_peers').some(
        (s) => s.labels['Remote'] === member.id && s.value > 0,
      );
    });
    if (peersConnected && reachable.length > 0) reasons.add('unreachable_but_peers_connected');
  }
  return reasons;
}
