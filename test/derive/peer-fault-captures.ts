// The captures of test/fixtures/etcd-3.4/peer-faults (see its README): a 3-member cluster with 600 ms
// added on the leader's peer links (`slow/`) and with follower → leader dropped (`one-way/`).
import { fixtureJson, fixtureMemberList, clientUrlOf } from '../etcd/fixtures.js';

const DIR = 'peer-faults';

interface CaptureLog {
  readonly leader: { readonly name: string; readonly id: string };
  readonly follower: { readonly name: string; readonly id: string };
  readonly captured: readonly { readonly file: string; readonly receivedAt: number }[];
}

const log = fixtureJson(`${DIR}/captures.json`) as unknown as CaptureLog;

/** Unix ms when `file` (relative to peer-faults/) arrived. */
export function peerFaultAt(file: string): number {
  const entry = log.captured.find((c) => c.file === file);
  if (!entry) throw new Error(`peer-faults/captures.json has no entry for ${file}`);
  return entry.receivedAt;
}

/** Path of a peer-faults capture for the fixture loaders. */
export const peerFault = (file: string): string => `${DIR}/${file}`;

/** Member list, endpoints and IDs of the captured cluster; `third` is the member never asked. */
export function peerFaultCluster() {
  const list = fixtureMemberList(peerFault('member-list.json'));
  const third = list.find((m) => m.id !== log.leader.id && m.id !== log.follower.id);
  if (!third) throw new Error('peer-faults/member-list.json has no third member');
  return {
    list,
    leaderId: log.leader.id,
    followerId: log.follower.id,
    thirdId: third.id,
    endpoints: {
      leader: clientUrlOf(list, log.leader.id),
      follower: clientUrlOf(list, log.follower.id),
      third: clientUrlOf(list, third.id),
    },
  };
}
