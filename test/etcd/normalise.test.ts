import { describe, expect, it } from 'vitest';
import {
  alarmsInStatusErrors,
  idToHex,
  normaliseAlarms,
  normaliseMemberList,
  normaliseStatus,
} from '../../src/etcd/normalise.js';
import { fixtureJson, fixtureMemberList, fixtureMetrics, fixtureStatus, serverIdOf } from './fixtures.js';

describe('normaliseStatus on gateway captures', () => {
  it.each([
    ['status-leader.json', 'leader-metrics.txt'],
    ['status-follower.json', 'follower-metrics.txt'],
    ['load/status-leader-1.json', 'load/leader-metrics-1.txt'],
    ['load/status-follower-2.json', 'load/follower-metrics-2.txt'],
  ])('%s: member ID in hex equals the etcd_server_id label of %s', (status, metrics) => {
    expect(fixtureStatus(status).memberId).toBe(serverIdOf(fixtureMetrics(metrics)));
  });

  it('turns the leader status into numbers and hex IDs', () => {
    expect(fixtureStatus('status-leader.json')).toEqual({
      memberId: 'e1adf9c8a32dbc58',
      clusterId: 1592962047311852418n.toString(16),
      leaderId: 'e1adf9c8a32dbc58',
      raftTerm: 2,
      raftIndex: 34,
      raftAppliedIndex: 34,
      revision: 23,
      dbSizeBytes: 20480,
      dbSizeInUseBytes: 20480,
      version: '3.4.23',
      isLearner: false,
      errors: [],
    });
  });

  it("the follower names the leader's ID and shares its cluster ID", () => {
    const leader = fixtureStatus('status-leader.json');
    const follower = fixtureStatus('status-follower.json');
    expect(follower.leaderId).toBe(leader.memberId);
    expect(follower.memberId).not.toBe(leader.memberId);
    expect(follower.clusterId).toBe(leader.clusterId);
  });

  it('keeps the NOSPACE error of a member whose quota is exhausted', () => {
    const status = fixtureStatus('nospace-status.json');
    expect(status.dbSizeBytes).toBe(4_341_760);
    expect(status.errors).toEqual([`memberID:${BigInt('0x' + status.memberId)} alarm:NOSPACE `]);
  });

  it('a member that lost quorum: no leader field (read as "0") and the "no leader" error', () => {
    const before = fixtureStatus('no-leader/status-before.json');
    const after = fixtureStatus('no-leader/status.json');
    expect(before.leaderId).not.toBe('0');
    expect(after).toMatchObject({
      memberId: before.memberId,
      leaderId: '0',
      errors: ['etcdserver: no leader'],
    });
    expect(after.memberId).toBe(serverIdOf(fixtureMetrics('no-leader/metrics.txt')));
    // Status reports the term of the last applied entry: it does not rise while the lone member campaigns.
    expect(after.raftTerm).toBe(before.raftTerm);
  });

  it('a field the gateway omits because it is zero reads as 0 ("no leader" for leader)', () => {
    // Transformation of a capture: the gateway omits zero values, so a member without a leader looks like this.
    const { leader: _dropped, ...raw } = fixtureJson('status-follower.json');
    const status = normaliseStatus(raw);
    expect(status.leaderId).toBe('0');
    expect(status.raftTerm).toBe(2);
  });
});

describe('normaliseMemberList on gateway captures', () => {
  it('lists the three members with hex IDs, names and URLs', () => {
    const list = fixtureMemberList('member-list.json');
    expect(list.map((m) => m.name).sort()).toEqual(['fixtures-0', 'fixtures-1', 'fixtures-2']);
    const ids = list.map((m) => m.id);
    expect(ids).toContain(serverIdOf(fixtureMetrics('leader-metrics.txt')));
    expect(ids).toContain(serverIdOf(fixtureMetrics('follower-metrics.txt')));
    for (const m of list) {
      expect(m.id).toMatch(/^[0-9a-f]{1,16}$/);
      expect(m.clientUrls).toHaveLength(1);
      expect(m.peerUrls[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(m.isLearner).toBe(false);
    }
  });

  it('the peers the leader holds streams to are the other members of the list', () => {
    const list = fixtureMemberList('member-list.json');
    const metrics = fixtureMetrics('leader-metrics.txt');
    const remotes = metrics.get('etcd_network_active_peers')?.samples.map((s) => s.labels['Remote']);
    const others = list.map((m) => m.id).filter((id) => id !== serverIdOf(metrics));
    expect(remotes?.sort()).toEqual(others.sort());
  });

  it('reads an unstarted learner: no name, no client URLs, isLearner', () => {
    const list = fixtureMemberList('load/member-list-with-learner.json');
    expect(list).toHaveLength(4);
    const learners = list.filter((m) => m.isLearner);
    expect(learners).toHaveLength(1);
    expect(learners[0]).toMatchObject({ name: '', clientUrls: [] });
    expect(learners[0]?.peerUrls).toHaveLength(1);
  });

  it('an empty answer is an empty list', () => {
    expect(normaliseMemberList({})).toEqual([]);
  });
});

describe('normaliseAlarms', () => {
  it('an empty alarm list (the gateway answers {}) has no alarms', () => {
    expect(normaliseAlarms(fixtureJson('alarm-list.json'))).toEqual([]);
  });

  it('reads the NOSPACE alarm of the member that raised it', () => {
    expect(normaliseAlarms(fixtureJson('nospace-alarm-list.json'))).toEqual([
      { memberId: fixtureStatus('nospace-status.json').memberId, alarm: 'NOSPACE' },
    ]);
  });

  // etcd3's proto-loader answers enums by name or number depending on options; shapes built from the
  // NOSPACE capture by swapping the alarm field.
  const memberID = (
    (fixtureJson('nospace-alarm-list.json')['alarms'] as Record<string, unknown>[])[0] as Record<
      string,
      unknown
    >
  )['memberID'];
  it.each([
    ['NOSPACE', 'NOSPACE'],
    ['Nospace', 'NOSPACE'],
    [1, 'NOSPACE'],
    ['1', 'NOSPACE'],
    ['CORRUPT', 'CORRUPT'],
    ['Corrupt', 'CORRUPT'],
    [2, 'CORRUPT'],
  ])('alarm %j → %s', (alarm, expected) => {
    expect(normaliseAlarms({ alarms: [{ memberID, alarm }] })).toEqual([
      { memberId: idToHex(memberID), alarm: expected },
    ]);
  });

  it.each([['NONE'], ['None'], [0], [undefined]])('alarm %j is dropped', (alarm) => {
    expect(normaliseAlarms({ alarms: [{ memberID, alarm }] })).toEqual([]);
  });
});

describe('idToHex', () => {
  it.each([
    ['16261928469631188056', 'e1adf9c8a32dbc58'],
    ['18446744073709551615', 'ffffffffffffffff'],
    [255, 'ff'],
    [undefined, '0'],
    ['', '0'],
    [null, '0'],
  ])('%j → %s', (id, hex) => {
    expect(idToHex(id)).toBe(hex);
  });
});

describe('alarmsInStatusErrors', () => {
  it.each([
    ['nospace-status.json', 'nospace-alarm-list.json'],
    ['nospace/status.json', 'nospace/alarm-list.json'],
  ])(
    'the alarms in the errors of %s are the entries of %s, captured from the same member',
    (status, list) => {
      const fromStatus = alarmsInStatusErrors(fixtureStatus(status).errors);
      expect(fromStatus).toHaveLength(1);
      expect(fromStatus).toEqual(normaliseAlarms(fixtureJson(list)));
    },
  );

  it.each([
    ['status-leader.json', []],
    ['no-leader/status.json', ['etcdserver: no leader']],
  ])('%s names no alarm', (status, errors) => {
    expect(fixtureStatus(status).errors).toEqual(errors);
    expect(alarmsInStatusErrors(fixtureStatus(status).errors)).toEqual([]);
  });

  // Transformations of the NOSPACE capture's error string.
  it.each([
    ['memberID:18446744073709551615 alarm:CORRUPT ', [{ memberId: 'ffffffffffffffff', alarm: 'CORRUPT' }]],
    ['memberID:1 alarm:NOSPACE', [{ memberId: '1', alarm: 'NOSPACE' }]],
    ['memberID:1 alarm:NONE ', []],
    ['memberID:0x1 alarm:NOSPACE ', []],
    ['prefix memberID:1 alarm:NOSPACE ', []],
  ])('%j → %j', (error, expected) => {
    expect(alarmsInStatusErrors([error])).toEqual(expected);
  });
});
