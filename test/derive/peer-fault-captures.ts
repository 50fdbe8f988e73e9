// The captures of test/fixtures/etcd-<version>/peer-faults (see their READMEs): a 3-member cluster with
// 600 ms added on the leader's peer links (`slow/`) and with follower → leader dropped (`one-way/`).
import { clientUrlOf, fixtureJson, fixtureMemberList, type EtcdFixtureVersion } from '../etcd/fixtures.js';

const DIR = 'peer-faults';

interface CaptureLog {
  readonly leader: { readonly name: string; readonly id: string };
  readonly follower: { readonly name: string; readonly id: string };
  readonly captured: readonly { readonly file: string; readonly receivedAt: number }[];
}

const logOf = (version: EtcdFixtureVersion) =>
  fixtureJson(`${DIR}/captures.json`, version) as unknown as CaptureLog;

/** Unix ms when `file` (relative to peer-faults/) arrived. */
export function peerFaultAt(file: string, version: EtcdFixtureVersion = '3.4'): number {
  const entry = logOf(version).captured.find((c) => c.file === file);
  if (!entry) throw new Error(`etcd-${version}/peer-faults/captures.json has no entry for ${file}`);
  return entry.receivedAt;
}

/** Path of a peer-faults capture for the fixture loaders. */
export const peerFault = (file: string): string => `${DIR}/${file}`;

/** Member list, endpoints and IDs of the captured cluster; `third` is the member never asked. */
export function peerFaultCluster(version: EtcdFixtureVersion = '3.4') {
  const log = logOf(version);
  const list = fixtureMemberList(peerFault('member-list.json'), version);
  const third = list.find((m) => m.id !== log.leader.id && m.id !== log.follower.id);
  if (!third) throw new Error(`etcd-${version}/peer-faults/member-list.json has no third member`);
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
