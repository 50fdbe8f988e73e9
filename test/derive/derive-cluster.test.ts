import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot, MemberSnapshot } from '../../src/collect/snapshot.js';
import type { Thresholds } from '../../src/config/types.js';
import {
  deriveCluster,
  INITIAL_DERIVE_STATE,
  PARTITION_PERSIST_ROUNDS,
  type DeriveState,
} from '../../src/derive/derive-cluster.js';
import { deriveMemberRates } from '../../src/derive/member-rates.js';
import type { ClusterView } from '../../src/derive/view.js';
import type { AlarmEntry, MemberStatus } from '../../src/etcd/types.js';
import {
  capturedAt,
  clientUrlOf,
  ETCD_FIXTURE_VERSIONS,
  failed,
  fixtureAlarms,
  fixtureHealth,
  fixtureMemberList,
  fixtureMetrics,
  fixtureStatus,
  healthyCluster,
  memberSnapshot,
  ok,
  type EtcdFixtureVersion,
  type MemberAnswers,
} from '../etcd/fixtures.js';

const THRESHOLDS: Thresholds = {
  maxLatencyMs: 100,
  maxDbSizeBytes: 8192 * 1024 * 1024,
  minAvailableNodes: 2,
  maxLeaderChangesPerHour: 3,
};
const T0 = 1_795_441_262_015;
const ROUND_MS = 10_000;

/**
 * The leader's Status and /metrics figures of each version's top-level captures, read off
 * status-leader.json and leader-metrics.txt (never carried over from the other version), and the
 * follower's open watch streams (follower-metrics.txt: the 3.5 capture's watch was opened on the third
 * member, which has no /metrics capture).
 */
const CAPTURED: Record<
  EtcdFixtureVersion,
  {
    readonly version: string;
    readonly raftIndex: number;
    readonly revision: number;
    readonly dbSizeBytes: number;
    readonly dbSizeInUseBytes: number;
    readonly leaderChangesSeen: number;
    readonly followerWatchStreams: number;
  }
> = {
  '3.4': {
    version: '3.4.23',
    raftIndex: 34,
    revision: 23,
    dbSizeBytes: 20480,
    dbSizeInUseBytes: 20480,
    leaderChangesSeen: 1,
    followerWatchStreams: 1,
  },
  '3.5': {
    version: '3.5.30',
    raftIndex: 31,
    revision: 23,
    dbSizeBytes: 20480,
    dbSizeInUseBytes: 20480,
    leaderChangesSeen: 1,
    followerWatchStreams: 0,
  },
};

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const h = healthyCluster(version);
  const c = CAPTURED[version];

  /** The top-level captures as one round; `third` undefined means the third member did not answer. */
  function healthyRound(
    at: number,
    opts: {
      leader?: MemberStatus;
      follower?: MemberStatus;
      third?: MemberStatus | null;
      members?: boolean;
    } = {},
  ): ClusterSnapshot {
    const withList = opts.members ?? true;
    const answers = (status: MemberStatus | undefined, metrics?: MemberAnswers['metrics']): MemberAnswers =>
      status
        ? {
            status,
            ...(metrics ? { metrics } : {}),
            ...(withList ? { members: h.list } : {}),
            alarms: h.alarms,
            health: h.health,
          }
        : {};
    const third = opts.third === null ? undefined : (opts.third ?? h.thirdStatus);
    return {
      cluster: 'fixtures',
      takenAt: at,
      expectedMembers: 3,
      members: [
        memberSnapshot(h.endpoints.leader, at, answers(opts.leader ?? h.leader, h.leaderMetrics)),
        memberSnapshot(h.endpoints.follower, at, answers(opts.follower ?? h.follower, h.followerMetrics)),
        memberSnapshot(h.endpoints.third, at, answers(third)),
      ],
    };
  }

  /** The same round with every member's alarm list request failed. */
  const withoutAlarmList = (snapshot: ClusterSnapshot): ClusterSnapshot => ({
    ...snapshot,
    members: snapshot.members.map((m) => ({ ...m, alarms: failed(T0) })),
  });

  /** Runs rounds in order and returns every view and the final state. */
  function run(snapshots: readonly ClusterSnapshot[], thresholds = THRESHOLDS, state = INITIAL_DERIVE_STATE) {
    const views: ClusterView[] = [];
    for (const snapshot of snapshots) {
      const out = deriveCluster(state, snapshot, thresholds);
      views.push(out.view);
      state = out.state;
    }
    return { views, state, last: views.at(-1) as ClusterView };
  }

  const memberOf = (view: ClusterView, name: string) => {
    const m = view.members.find((x) => x.member === name);
    if (!m) throw new Error(`no member ${name} in ${view.members.map((x) => x.member).join(', ')}`);
    return m;
  };

  describe('deriveCluster on a round built from the captures', () => {
    const { last: view } = run([healthyRound(T0)]);
    const leaderName = h.list.find((m) => m.id === h.leader.memberId)?.name as string;

    it('cluster-level health', () => {
      expect(view).toMatchObject({
        cluster: 'fixtures',
        takenAt: T0,
        expectedMembers: 3,
        votingMembers: 3,
        learners: 0,
        membersReachable: 3,
        membersHealthy: 3,
        quorumSize: 2,
        quorumAvailable: true,
        failureTolerance: 1,
        belowMinAvailable: false,
        hasLeader: true,
        leaderId: h.leader.memberId,
        leaderMember: leaderName,
        distinctLeadersClaimed: 1,
        splitBrain: false,
        staleLeader: false,
        partitionReasons: [],
        leaderChangesTotal: 0,
        leaderChangesLastHour: 0,
        leaderChangesExceeded: false,
        clusterIds: [h.leader.clusterId],
        versions: [c.version],
        alarms: [],
        probe: { aboveMaxLatency: false },
      });
      expect(view.lastLeaderChangeAt).toBeUndefined();
      expect(view.members.map((m) => m.member).sort()).toEqual(['fixtures-0', 'fixtures-1', 'fixtures-2']);
    });

    it("the leader's member view joins Status, /health, alarms and /metrics", () => {
      const leader = memberOf(view, leaderName);
      expect(leader).toMatchObject({
        endpoint: h.endpoints.leader,
        memberId: h.leader.memberId,
        up: true,
        healthy: true,
        isLeader: true,
        isLearner: false,
        leaderId: h.leader.memberId,
        raftTerm: 2,
        raftIndex: c.raftIndex,
        raftAppliedIndex: c.raftIndex,
        applyLagEntries: 0,
        revision: c.revision,
        dbSizeBytes: c.dbSizeBytes,
        dbSizeInUseBytes: c.dbSizeInUseBytes,
        fragmentationRatio: 0, // dbSizeInUse equals dbSize in both versions' captures
        quotaBytes: 2 * 1024 ** 3,
        quotaUsageRatio: c.dbSizeBytes / (2 * 1024 ** 3),
        dbAboveMaxSize: false,
        alarms: [],
        version: c.version,
        leaderChangesSeen: c.leaderChangesSeen,
      });
      expect(leader.residentMemoryBytes).toBeGreaterThan(0);
      // One round only: no rates yet, and no DB growth.
      expect(leader.cpuSecondsPerSecond).toBeUndefined();
      expect(leader.dbGrowthBytesPerSecond).toBeUndefined();
    });

    it('followers are not leaders; the member whose /metrics failed has no figures from it', () => {
      const follower = memberOf(view, h.names.follower);
      expect(follower.isLeader).toBe(false);
      expect(follower.watchStreams).toBe(c.followerWatchStreams);
      const third = memberOf(view, h.names.third);
      expect(third).toMatchObject({ up: true, healthy: true, isLeader: false });
      expect(third.residentMemoryBytes).toBeUndefined();
      expect(third.quotaBytes).toBeUndefined();
    });

    it('is pure: the same state and snapshot give the same view, and the input state is untouched', () => {
      const state = run([healthyRound(T0)]).state;
      const copy = structuredClone(state);
      const a = deriveCluster(state, healthyRound(T0 + ROUND_MS), THRESHOLDS);
      const b = deriveCluster(state, healthyRound(T0 + ROUND_MS), THRESHOLDS);
      expect(a.view).toEqual(b.view);
      expect(state).toEqual(copy);
    });
  });

  describe('deriveCluster over several rounds', () => {
    it(`reports a partition reason only once it held for ${PARTITION_PERSIST_ROUNDS} consecutive rounds`, () => {
      // The third member stops answering while the leader's and follower's captures still show an active
      // raft stream to it (etcd_network_active_peers).
      const { views } = run([
        healthyRound(T0),
        healthyRound(T0 + ROUND_MS, { third: null }),
        healthyRound(T0 + 2 * ROUND_MS, { third: null }),
        healthyRound(T0 + 3 * ROUND_MS, { third: null }),
        healthyRound(T0 + 4 * ROUND_MS),
        healthyRound(T0 + 5 * ROUND_MS, { third: null }),
      ]);
      expect(views.map((v) => v.partitionReasons)).toEqual([
        [],
        [],
        ['unreachable_but_peers_connected'],
        ['unreachable_but_peers_connected'],
        [],
        [], // the streak starts over after a clean round
      ]);
      // Its peers' streams to it are still open, but the same capture each round shows no raft traffic
      // arriving from it: not proof of life, so it is down (health-state.test.ts covers "unreachable").
      expect(views[1]).toMatchObject({
        membersReachable: 2,
        membersAvailable: 2,
        failureTolerance: 0,
        quorumAvailable: true,
      });
      expect(memberOf(views[1] as ClusterView, h.names.third)).toMatchObject({
        up: false,
        healthy: false,
        healthState: 'down',
        alarms: [],
      });
    });

    it('a one-round disagreement (an election) is not reported', () => {
      const { views } = run([
        healthyRound(T0),
        healthyRound(T0 + ROUND_MS, { third: { ...h.thirdStatus, raftTerm: 3, leaderId: '0' } }),
        healthyRound(T0 + 2 * ROUND_MS),
      ]);
      expect(views.map((v) => v.partitionReasons)).toEqual([[], [], []]);
    });

    it('counts a leader change (transformed statuses: term 3 under the former follower)', () => {
      const F = h.follower.memberId;
      const term3 = {
        leader: { ...h.leader, raftTerm: 3, leaderId: F },
        follower: { ...h.follower, raftTerm: 3, leaderId: F },
        third: { ...h.thirdStatus, raftTerm: 3, leaderId: F },
      };
      const { views, last } = run([
        healthyRound(T0),
        healthyRound(T0 + ROUND_MS, term3),
        healthyRound(T0 + 2 * ROUND_MS, term3),
      ]);
      expect(views.map((v) => v.leaderChangesTotal)).toEqual([0, 1, 1]);
      expect(last).toMatchObject({
        leaderId: F,
        leaderMember: h.names.follower,
        leaderChangesLastHour: 1,
        lastLeaderChangeAt: T0 + ROUND_MS,
        leaderChangesExceeded: false,
      });
      expect(memberOf(last, h.names.follower).isLeader).toBe(true);
      expect(memberOf(last, h.names.leader).isLeader).toBe(false);
      const strict = run([healthyRound(T0), healthyRound(T0 + ROUND_MS, term3)], {
        ...THRESHOLDS,
        maxLeaderChangesPerHour: 0,
      });
      expect(strict.last.leaderChangesExceeded).toBe(true);
    });

    it('keeps the name of a member learned in an earlier round when no member list is available', () => {
      const { last } = run([healthyRound(T0), healthyRound(T0 + ROUND_MS, { third: null, members: false })]);
      expect(last.members.map((m) => m.member).sort()).toEqual(['fixtures-0', 'fixtures-1', 'fixtures-2']);
      expect(memberOf(last, h.names.third)).toMatchObject({ memberId: h.third.id, up: false });
    });

    it('without any earlier round a silent member is named by its endpoint', () => {
      const { last } = run([healthyRound(T0, { third: null, members: false })]);
      expect(last.members.map((m) => m.member)).toContain(new URL(h.endpoints.third).host);
    });
  });

  describe('deriveCluster on the rounds captured under load', () => {
    const list = fixtureMemberList('load/member-list-with-learner.json', version);
    const round = (r: number): ClusterSnapshot => {
      const member = (role: 'leader' | 'follower'): MemberSnapshot => {
        const statusFile = `load/status-${role}-${r}.json`;
        const metricsFile = `load/${role}-metrics-${r}.txt`;
        const status = fixtureStatus(statusFile, version);
        const at = capturedAt(statusFile, version);
        return {
          endpoint: clientUrlOf(list, status.memberId),
          status: ok(status, at),
          metrics: ok(fixtureMetrics(metricsFile, version), capturedAt(metricsFile, version)),
          members: ok(list, at),
          alarms: ok([], at),
          health: ok(fixtureHealth('health.json', version), at),
        };
      };
      const members = [member('leader'), member('follower')];
      const takenAt = Math.max(...members.flatMap((m) => [m.status?.at ?? 0, m.metrics?.at ?? 0]));
      return { cluster: 'load', takenAt, members };
    };
    const { views, last } = run([round(0), round(1), round(2)]);
    const leaderStatus = fixtureStatus('load/status-leader-2.json', version);
    const leaderName = list.find((m) => m.id === leaderStatus.memberId)?.name as string;

    it('the captured member list has 3 voters and a learner; 2 configured members answer', () => {
      expect(last).toMatchObject({ votingMembers: 3, learners: 1, membersReachable: 2, failureTolerance: 0 });
      expect(last.leaderMember).toBe(leaderName);
    });

    it('rates appear from the second round and equal deriveMemberRates on the same pair', () => {
      expect(memberOf(views[0] as ClusterView, leaderName).cpuSecondsPerSecond).toBeUndefined();
      const expected = deriveMemberRates(
        {
          at: capturedAt('load/leader-metrics-1.txt', version),
          metrics: fixtureMetrics('load/leader-metrics-1.txt', version),
        },
        {
          at: capturedAt('load/leader-metrics-2.txt', version),
          metrics: fixtureMetrics('load/leader-metrics-2.txt', version),
        },
      );
      const leader = memberOf(last, leaderName);
      expect(leader.cpuSecondsPerSecond).toBe(expected.cpuSecondsPerSecond);
      expect(leader.requestsPerSecond).toBe(expected.requestsPerSecond);
      expect(leader.walFsyncP99Seconds).toBe(expected.walFsyncP99Seconds);
      expect(leader.requestsPerSecond).toBeGreaterThan(0);
    });

    it('DB growth needs the third round (three sizes over more than 10 s), then predicts the quota', () => {
      expect(memberOf(views[1] as ClusterView, leaderName).dbGrowthBytesPerSecond).toBeUndefined();
      const leader = memberOf(last, leaderName);
      expect(leader.dbGrowthBytesPerSecond).toBeGreaterThan(0);
      expect(leader.secondsUntilQuotaFull).toBeCloseTo(
        (2 * 1024 ** 3 - leaderStatus.dbSizeBytes) / (leader.dbGrowthBytesPerSecond as number),
        6,
      );
    });

    it('a member whose /metrics fails loses its rates instead of bridging the outage', () => {
      const broken = round(2);
      const withFailure: ClusterSnapshot = {
        ...broken,
        members: broken.members.map((m, i) => (i === 0 ? { ...m, metrics: failed(broken.takenAt) } : m)),
      };
      const afterOutage = run([round(0), round(1), withFailure]);
      const leader = memberOf(afterOutage.last, leaderName);
      expect(leader.cpuSecondsPerSecond).toBeUndefined();
      expect(leader.up).toBe(true);
    });
  });

  describe('deriveCluster on the member left alone after two of three were killed', () => {
    const list = fixtureMemberList('no-leader/member-list.json', version);
    const status = fixtureStatus('no-leader/status.json', version);
    const at = capturedAt('no-leader/status.json', version);
    const snapshot: ClusterSnapshot = {
      cluster: 'no-leader',
      takenAt: at,
      members: list.map((m) =>
        m.id === status.memberId
          ? {
              endpoint: m.clientUrls[0] as string,
              status: ok(status, at),
              metrics: ok(
                fixtureMetrics('no-leader/metrics.txt', version),
                capturedAt('no-leader/metrics.txt', version),
              ),
              members: ok(list, at),
              alarms: ok([], at),
              health: ok(
                fixtureHealth('no-leader/health.json', version),
                capturedAt('no-leader/health.json', version),
              ),
            }
          : memberSnapshot(m.clientUrls[0] as string, at, {}),
      ),
    };
    const { views, last } = run([snapshot, { ...snapshot, takenAt: at + ROUND_MS }]);

    it('quorum lost, no leader, nobody healthy', () => {
      expect(last).toMatchObject({
        votingMembers: 3,
        membersReachable: 1,
        membersHealthy: 0,
        quorumSize: 2,
        quorumAvailable: false,
        failureTolerance: 0,
        belowMinAvailable: true,
        hasLeader: false,
        distinctLeadersClaimed: 0,
        splitBrain: false,
        staleLeader: false,
      });
      expect(last.leaderId).toBeUndefined();
      const survivor = last.members.find((m) => m.up);
      expect(survivor).toMatchObject({
        memberId: status.memberId,
        isLeader: false,
        leaderId: '0',
        healthy: false,
      });
    });

    it('no partition sign: the dead members are not connected to anyone (active_peers 0 in the capture)', () => {
      expect(views.map((v) => v.partitionReasons)).toEqual([[], []]);
    });
  });

  describe('deriveCluster with alarms, thresholds and probes', () => {
    it('the NOSPACE captures: alarm, not healthy, quota exceeded', () => {
      const status = fixtureStatus('nospace/status.json', version);
      const at = capturedAt('nospace/status.json', version);
      const snapshot: ClusterSnapshot = {
        cluster: 'nospace',
        takenAt: at,
        members: [
          {
            endpoint: 'http://127.0.0.1:2379',
            status: ok(status, at),
            metrics: ok(
              fixtureMetrics('nospace/metrics-1.txt', version),
              capturedAt('nospace/metrics-1.txt', version),
            ),
            members: failed(at, 'not captured'),
            alarms: ok(fixtureAlarms('nospace/alarm-list.json', version), at),
            health: ok(fixtureHealth('nospace/health.json', version), at),
          },
        ],
      };
      const { last } = run([snapshot], { ...THRESHOLDS, maxDbSizeBytes: 1024 * 1024 });
      expect(last.alarms).toEqual([{ member: '127.0.0.1:2379', alarm: 'NOSPACE' }]);
      const m = last.members[0];
      expect(m).toMatchObject({
        up: true,
        healthy: false,
        alarms: ['NOSPACE'],
        quotaBytes: 1_000_000,
        dbAboveMaxSize: true,
      });
      expect(m?.quotaUsageRatio).toBeCloseTo(status.dbSizeBytes / 1_000_000, 12);
      expect(m?.quotaUsageRatio).toBeGreaterThan(1);
    });

    it("an alarm is attributed to the member it names, from any member's answer", () => {
      // Transformation: the NOSPACE alarm entry re-pointed at the follower of the healthy captures.
      const [captured] = fixtureAlarms('nospace/alarm-list.json', version);
      if (!captured) throw new Error('nospace/alarm-list.json has no alarm');
      const alarm: AlarmEntry = { ...captured, memberId: h.follower.memberId };
      const snapshot = healthyRound(T0);
      const withAlarm: ClusterSnapshot = {
        ...snapshot,
        members: snapshot.members.map((m) => ({ ...m, alarms: ok([alarm], T0) })),
      };
      const { last } = run([withAlarm]);
      expect(last.alarms).toEqual([{ member: h.names.follower, alarm: 'NOSPACE' }]);
      expect(memberOf(last, h.names.leader).alarms).toEqual([]);
    });

    it("a member that does not answer still gets the alarm the others' (cluster-wide) lists name", () => {
      // Transformation: the NOSPACE alarm entry re-pointed at the third member, which is down this round.
      const [captured] = fixtureAlarms('nospace/alarm-list.json', version);
      if (!captured) throw new Error('nospace/alarm-list.json has no alarm');
      const alarm: AlarmEntry = { ...captured, memberId: h.third.id };
      const snapshot = healthyRound(T0, { third: null });
      const withAlarm: ClusterSnapshot = {
        ...snapshot,
        members: snapshot.members.map((m) => (m.status?.ok ? { ...m, alarms: ok([alarm], T0) } : m)),
      };
      const { last } = run([withAlarm]);
      expect(last.alarms).toEqual([{ member: h.names.third, alarm: 'NOSPACE' }]);
      expect(memberOf(last, h.names.third)).toMatchObject({
        up: false,
        alarms: ['NOSPACE'],
        alarmsKnown: true,
      });
    });

    it("a member whose own alarm request failed is judged by another member's list", () => {
      const snapshot = healthyRound(T0);
      const oneFailed: ClusterSnapshot = {
        ...snapshot,
        members: snapshot.members.map((m, i) => (i === 0 ? { ...m, alarms: failed(T0) } : m)),
      };
      const { last } = run([oneFailed]);
      expect(last.members.map((m) => m.alarmsKnown)).toEqual([true, true, true]);
    });

    it('without an alarm list, the statuses (their `errors`) say which alarms are active', () => {
      const { last } = run([withoutAlarmList(healthyRound(T0))]);
      expect(last.members.map((m) => [m.alarmsKnown, m.alarms])).toEqual([
        [true, []],
        [true, []],
        [true, []],
      ]);
    });

    it('without an alarm list or a status from a member with a leader, the alarms are unknown, not "none"', () => {
      // Transformation: the healthy captures' statuses with the leader field cleared (as a cut-off member answers).
      const leaderless = (status: MemberStatus): MemberStatus => ({ ...status, leaderId: '0' });
      const snapshot = healthyRound(T0, {
        leader: leaderless(h.leader),
        follower: leaderless(h.follower),
        third: leaderless(h.thirdStatus),
      });
      const { last } = run([withoutAlarmList(snapshot)]);
      expect(last.members.map((m) => [m.alarmsKnown, m.alarms])).toEqual([
        [false, []],
        [false, []],
        [false, []],
      ]);
    });

    it('probe percentiles come from each new probe result once, and compare with --max-latency-ms', () => {
      const withProbe = (at: number, probeAt: number, readSeconds: number, writeSeconds: number) => {
        const s = healthyRound(at);
        return {
          ...s,
          members: s.members.map((m, i) =>
            i === 0 ? { ...m, probe: ok({ readSeconds, writeSeconds }, probeAt) } : m,
          ),
        };
      };
      const { views, state } = run([
        withProbe(T0, T0, 0.002, 0.008),
        withProbe(T0 + ROUND_MS, T0, 0.002, 0.008), // the same probe result seen again
        withProbe(T0 + 2 * ROUND_MS, T0 + 2 * ROUND_MS, 0.004, 0.25),
      ]);
      expect(state.probes).toEqual({ read: [0.002, 0.004], write: [0.008, 0.25] });
      expect(views[1]?.probe).toEqual({
        readP50Seconds: 0.002,
        readP95Seconds: 0.002,
        readP99Seconds: 0.002,
        writeP50Seconds: 0.008,
        writeP95Seconds: 0.008,
        writeP99Seconds: 0.008,
        aboveMaxLatency: false,
      });
      expect(views[2]?.probe).toMatchObject({
        writeP99Seconds: 0.25,
        writeP50Seconds: 0.008,
        aboveMaxLatency: true,
      });
    });

    it('the initial state is not modified by a round', () => {
      const before = structuredClone(INITIAL_DERIVE_STATE) as DeriveState;
      run([healthyRound(T0)]);
      expect(INITIAL_DERIVE_STATE).toEqual(before);
    });
  });
});
