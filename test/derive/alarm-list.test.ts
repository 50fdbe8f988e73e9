import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, MemberSnapshot } from '../../src/collect/snapshot.js';
import { latestAlarmList } from '../../src/derive/alarm-list.js';
import type { AlarmEntry, MemberStatus } from '../../src/etcd/types.js';
import { ETCD_FIXTURE_VERSIONS, failed, fixtureAlarms, fixtureStatus, ok } from '../etcd/fixtures.js';

const T0 = 1_795_441_262_015;
const leaderless = (s: MemberStatus): MemberStatus => ({ ...s, leaderId: '0' });

type Answers = {
  status?: [MemberStatus, number] | 'failed';
  alarms?: [readonly AlarmEntry[], number] | 'failed';
};
const member = (i: number, a: Answers): MemberSnapshot => ({
  endpoint: `http://127.0.0.1:${2379 + i}`,
  ...(a.status === 'failed'
    ? { status: failed(T0) }
    : a.status
      ? { status: ok(a.status[0], a.status[1]) }
      : {}),
  ...(a.alarms === 'failed'
    ? { alarms: failed(T0) }
    : a.alarms
      ? { alarms: ok(a.alarms[0], a.alarms[1]) }
      : {}),
});
const snapshot = (...members: Answers[]): ClusterSnapshot => ({
  cluster: 'c',
  takenAt: T0,
  members: members.map((a, i) => member(i, a)),
});

describe.each(ETCD_FIXTURE_VERSIONS)('latestAlarmList on etcd %s captures', (version) => {
  // Real captures: a member whose quota filled (its status lists the NOSPACE alarm) and a healthy leader.
  const nospaceStatus = fixtureStatus('nospace/status.json', version);
  const nospaceList = fixtureAlarms('nospace/alarm-list.json', version);
  const cleanStatus = fixtureStatus('status-leader.json', version);

  it('the NOSPACE captures hold one alarm, the healthy leader none', () => {
    expect(nospaceList).toEqual([{ memberId: nospaceStatus.memberId, alarm: 'NOSPACE' }]);
    expect(cleanStatus.errors).toEqual([]);
  });

  it.each<[string, ClusterSnapshot, readonly AlarmEntry[] | undefined]>([
    ['nobody answered', snapshot({ status: 'failed', alarms: 'failed' }, {}), undefined],
    ["a status' errors alone", snapshot({ status: [nospaceStatus, T0] }), nospaceList],
    ['a status without alarms alone', snapshot({ status: [cleanStatus, T0] }), []],
    [
      'a status from a member without a leader does not count',
      snapshot({ status: [leaderless(nospaceStatus), T0] }),
      undefined,
    ],
    [
      'a newer status clears an older alarm list',
      snapshot({ alarms: [nospaceList, T0] }, { status: [cleanStatus, T0 + 1] }),
      [],
    ],
    [
      'a newer alarm list wins over an older status',
      snapshot({ status: [nospaceStatus, T0] }, { alarms: [[], T0 + 1] }),
      [],
    ],
    [
      'on a tie the alarm list wins, whichever member comes first',
      snapshot({ status: [nospaceStatus, T0] }, { alarms: [[], T0] }),
      [],
    ],
    [
      'the freshest of several statuses',
      snapshot(
        { status: [cleanStatus, T0] },
        { status: [nospaceStatus, T0 + 5] },
        { status: [cleanStatus, T0 + 2] },
      ),
      nospaceList,
    ],
    [
      'a leaderless status newer than a real answer is ignored',
      snapshot({ status: [nospaceStatus, T0] }, { status: [leaderless(cleanStatus), T0 + 9] }),
      nospaceList,
    ],
  ])('%s', (_name, snap, expected) => {
    expect(latestAlarmList(snap)).toEqual(expected);
  });
});
