// Two ClusterViews for the status tests: the real 3.4 captures derived twice (leader and follower
// answer, the third member is down, so the view reports `unreachable_but_peers_connected`), and the same
// view with the fields whose other branch the captures do not reach (no leader id, a leader change, an
// alarm, no partition).
import { deriveCluster, INITIAL_DERIVE_STATE } from '../../src/derive/derive-cluster.js';
import type { ClusterView } from '../../src/derive/view.js';
import { capturedClusterSnapshot, DEFAULT_THRESHOLDS } from '../etcd/fixtures.js';

export const AT = 1_795_441_262_015;

const snapshot = (at: number) => capturedClusterSnapshot('prod', at);

/** The captures' view, second round (15 s after the first). */
export function capturedView(): ClusterView {
  const first = deriveCluster(INITIAL_DERIVE_STATE, snapshot(AT), DEFAULT_THRESHOLDS);
  return deriveCluster(first.state, snapshot(AT + 15_000), DEFAULT_THRESHOLDS).view;
}

/** The captures' view with the other branches: no leader id, a leader change a minute ago, an alarm. */
export function alteredView(): ClusterView {
  return {
    ...capturedView(),
    leaderId: undefined,
    leaderChangesTotal: 2,
    leaderChangesLastHour: 1,
    lastLeaderChangeAt: AT - 60_000,
    partitionReasons: [],
    alarms: [{ member: 'fixtures-2', alarm: 'NOSPACE' }],
  };
}
