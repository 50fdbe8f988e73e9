import type { ClusterSnapshot } from '../collect/snapshot.js';
import { alarmsInStatusErrors } from '../etcd/normalise.js';
import type { AlarmEntry } from '../etcd/types.js';

/**
 * The freshest word on the cluster's alarms: an AlarmList answer, or a Status answer's `errors`, which
 * list the answering member's alarm store (the same store AlarmList reads after its raft round trip).
 * Alarms are cluster-wide state, so any member's answer names every member's alarms and a member that
 * is down still gets its alarms. A member without a leader is not asked to vouch: cut off from the
 * cluster, its store may miss an alarm raised or cleared since.
 * Undefined when nobody answered: unknown, not "no alarms".
 */
export function latestAlarmList(snapshot: ClusterSnapshot): readonly AlarmEntry[] | undefined {
  let best: { at: number; value: () => readonly AlarmEntry[] } | undefined;
  for (const member of snapshot.members) {
    const list = member.alarms;
    // On a tie the AlarmList answer wins: it went through raft.
    if (list?.ok && (!best || list.at >= best.at)) best = { at: list.at, value: () => list.value };
    const status = member.status;
    if (status?.ok && status.value.leaderId !== '0' && (!best || status.at > best.at)) {
      const errors = status.value.errors;
      best = { at: status.at, value: () => alarmsInStatusErrors(errors) };
    }
  }
  return best?.value();
}
