import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/collect/snapshot.js';
import { deriveCluster, INITIAL_DERIVE_STATE, type DeriveState } from '../../src/derive/derive-cluster.js';
import { activeStreams, deriveHealthStates, leaderHearsNothingFrom } from '../../src/derive/health-state.js';
import { partitionSignals } from '../../src/derive/partition.js';
import type { ParsedMetrics } from '../../src/protocol/prom-text/types.js';
import {
  DEFAULT_THRESHOLDS,
  ETCD_FIXTURE_VERSIONS,
  fixtureHealth,
  fixtureMetrics,
  fixtureStatus,
  memberSnapshot,
  resolvedRound,
  type EtcdFixtureVersion,
} from '../etcd/fixtures.js';
import { peerFault, peerFaultAt, peerFaultCluster } from './peer-fault-captures.js';

/**
 * The leader's stream gauge to the follower during the partition, read off each version's
 * one-way/leader-metrics.txt: etcd 3.4 dropped the stream, etcd 3.5 keeps reporting it active (see the
 * peer-faults READMEs), so there only the leader's frozen received-bytes counter tells.
 */
const LEADER_STREAM_TO_FOLLOWER: Record<EtcdFixtureVersion, number> = { '3.4': 0, '3.5': 1 };

const PSD = ['peer_stream_down'];
type Rounds = readonly (readonly ['partitioned' | 'later' | 'later2' | 'healed', readonly string[]])[];

/** Partition reasons after each round, per version (the leader's evidence differs: see above). */
const EXPECTED: Record<EtcdFixtureVersion, { readonly overRounds: Rounds; readonly reusedScrapes: Rounds }> =
  {
    '3.4': {
      // Every partitioned scrape shows the leader's stream down: reported from the second one.
      overRounds: [
        ['healed', []],
        ['partitioned', []],
        ['partitioned', PSD],
        ['partitioned', PSD],
        ['healed', []],
        ['healed', []],
      ],
      // Scrapes in rounds 0 and 2: reported from round 2, the second scrape that shows it.
      reusedScrapes: [
        ['partitioned', []],
        ['partitioned', []],
        ['partitioned', PSD],
        ['partitioned', PSD],
      ],
    },
    '3.5': {
      // The first partitioned scrape compares with nothing; the sign is in the 2nd and 3rd, reported at the
      // 3rd. A healed scrape (bytes from the follower grew) clears it.
      overRounds: [
        ['partitioned', []],
        ['later', []],
        ['later2', PSD],
        ['healed', []],
        ['healed', []],
      ],
      // Scrapes in rounds 0, 2 and 4: the sign shows from round 2; round 3 re-uses that scrape and does not
      // count as a second, so it is reported from round 4.
      reusedScrapes: [
        ['partitioned', []],
        ['partitioned', []],
        ['later', []],
        ['later', []],
        ['later2', PSD],
        ['later2', PSD],
      ],
    },
  };

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const p = peerFaultCluster(version);
  const status = (who: 'leader' | 'follower') =>
    fixtureStatus(peerFault(`one-way/status-${who}.json`), version);
  /**
   * A scrape during the partition, the leader's 2 s later ('later'), a third leader scrape made from those
   * two ('later2', a transformation: 'later' with the bytes from the third member grown once more by what
   * they grew between the two captures, those from the follower unchanged — what the next scrape of a
   * lasting partition shows), or 5 s after healing.
   */
  type Phase = 'partitioned' | 'later' | 'later2' | 'healed';
  const capture = (who: 'leader' | 'follower', phase: Exclude<Phase, 'later2'>): ParsedMetrics =>
    fixtureMetrics(
      peerFault(
        `one-way/${who}-metrics${phase === 'healed' ? '-healed' : phase === 'later' && who === 'leader' ? '-later' : ''}.txt`,
      ),
      version,
    );
  const RECEIVED = 'etcd_network_peer_received_bytes_total';
  const fromThird = (m: ParsedMetrics) =>
    m.get(RECEIVED)?.samples.find((s) => s.labels['From'] === p.thirdId)?.value ?? NaN;
  function metrics(who: 'leader' | 'follower', phase: Phase): ParsedMetrics {
    if (phase !== 'later2') return capture(who, phase);
    if (who === 'follower') return capture(who, 'later');
    const later = capture('leader', 'later');
    const growth = fromThird(later) - fromThird(capture('leader', 'partitioned'));
    const family = later.get(RECEIVED);
    if (!family || !(growth > 0))
      throw new Error('the later leader capture shows no growth from the third member');
    const copy = new Map(later);
    copy.set(RECEIVED, {
      ...family,
      samples: family.samples.map((s) =>
        s.labels['From'] === p.thirdId ? { ...s, value: s.value + growth } : s,
      ),
    });
    return copy;
  }
  const AT = peerFaultAt('one-way/leader-metrics.txt', version);
  const ROUND_MS = 1000;

  /**
   * One round of the one-way captures (follower → leader dropped, or 5 s after healing). The third member
   * was not captured; it answers the follower's Status with its own ID put in (a transformation), without
   * /metrics, so it is no evidence for or against a stream.
   */
  function round(at: number, phase: Phase, opts: { leaderMetrics?: boolean } = {}) {
    const health =
      phase === 'healed'
        ? { healthy: true, reason: '' }
        : fixtureHealth(peerFault('one-way/health-follower.json'), version);
    return [
      {
        endpoint: p.endpoints.leader,
        answers: {
          status: status('leader'),
          members: p.list,
          health: { healthy: true, reason: '' },
          ...(opts.leaderMetrics === false ? {} : { metrics: metrics('leader', phase) }),
        },
      },
      {
        endpoint: p.endpoints.follower,
        answers: { status: status('follower'), members: p.list, health, metrics: metrics('follower', phase) },
      },
      {
        endpoint: p.endpoints.third,
        answers: { status: { ...status('follower'), memberId: p.thirdId }, members: p.list, health },
      },
    ];
  }

  describe('one-way partition follower → leader (captures)', () => {
    it("the follower's capture still has a stream to the leader; the leader's to the follower is down on 3.4 only", () => {
      const { resolved } = resolvedRound(round(AT, 'partitioned'));
      const [leader, follower] = resolved;
      if (!leader || !follower) throw new Error('members missing');
      expect(activeStreams(leader, p.followerId)).toBe(LEADER_STREAM_TO_FOLLOWER[version]);
      expect(activeStreams(follower, p.leaderId)).toBe(1);
      // Status alone shows nothing: the follower names the leader, same term, same raft index.
      expect(follower.status?.leaderId).toBe(p.leaderId);
      expect(follower.status?.raftTerm).toBe(leader.status?.raftTerm);
      expect(follower.status?.raftIndex).toBe(leader.status?.raftIndex);
    });

    it("the leader's two scrapes during the partition: bytes from the third member grew, none from the follower", () => {
      const first = deriveHealthStates(
        resolvedRound(round(AT, 'partitioned'), AT).resolved,
        new Map(),
        false,
      );
      const { resolved } = resolvedRound(round(AT + 2000, 'later'), AT + 2000);
      const { traffic } = deriveHealthStates(resolved, first.progress, false, first.traffic);
      const leader = resolved.find((m) => m.id === p.leaderId);
      if (!leader) throw new Error('leader missing');
      const grew = traffic.get(p.endpoints.leader)?.grewFrom;
      expect(grew?.has(p.thirdId)).toBe(true);
      expect(grew?.has(p.followerId)).toBe(false);
      expect(leaderHearsNothingFrom(leader, p.followerId, traffic)).toBe(true);
      expect(leaderHearsNothingFrom(leader, p.thirdId, traffic)).toBe(false);
      // One scrape compares with nothing: no evidence yet.
      expect(leaderHearsNothingFrom(leader, p.followerId, first.traffic)).toBe(false);
    });

    it.each<[string, ReturnType<typeof round>, string[]]>([
      ['during the partition: peer_stream_down', round(AT + 2000, 'later'), ['peer_stream_down']],
      ['5 s after healing: no sign', round(AT + 2000, 'healed'), []],
      [
        "the leader's /metrics failed: the follower's own side shows no fault, so no sign",
        round(AT + 2000, 'later', { leaderMetrics: false }),
        [],
      ],
    ])('%s (after a first round during the partition)', (_, members, expected) => {
      const first = deriveHealthStates(
        resolvedRound(round(AT, 'partitioned'), AT).resolved,
        new Map(),
        false,
      );
      const { resolved } = resolvedRound(members, AT + 2000);
      const { traffic } = deriveHealthStates(resolved, first.progress, false, first.traffic);
      expect([...partitionSignals(resolved, traffic)].sort()).toEqual(expected);
    });

    it('over rounds: flagged in the 2nd partitioned scrape that shows it, cleared in the first healed round', () => {
      const snapshot = (i: number, phase: Phase): ClusterSnapshot => ({
        cluster: 'faults',
        takenAt: AT + i * ROUND_MS,
        members: round(AT + i * ROUND_MS, phase).map((m) =>
          memberSnapshot(m.endpoint, AT + i * ROUND_MS, m.answers),
        ),
      });
      const rounds = EXPECTED[version].overRounds;
      let state: DeriveState = INITIAL_DERIVE_STATE;
      const reasons = rounds.map(([phase], i) => {
        const out = deriveCluster(state, snapshot(i, phase), DEFAULT_THRESHOLDS);
        state = out.state;
        return out.view.partitionReasons;
      });
      expect(reasons).toEqual(rounds.map(([, expected]) => expected));
    });

    it('a health round between two metrics rounds re-uses the same scrape: it does not count as a second round', () => {
      // Every round gets new Status/health answers; /metrics is new only in even rounds (metrics rounds).
      const rounds = EXPECTED[version].reusedScrapes;
      const snapshot = (i: number, phase: Phase): ClusterSnapshot => {
        const at = AT + i * ROUND_MS;
        const scrapedAt = AT + (i - (i % 2)) * ROUND_MS;
        return {
          cluster: 'faults',
          takenAt: at,
          members: round(at, phase).map((m) => {
            const snap = memberSnapshot(m.endpoint, at, m.answers);
            return snap.metrics?.ok ? { ...snap, metrics: { ...snap.metrics, at: scrapedAt } } : snap;
          }),
        };
      };
      let state: DeriveState = INITIAL_DERIVE_STATE;
      const reasons = rounds.map(([phase], i) => {
        const out = deriveCluster(state, snapshot(i, phase), DEFAULT_THRESHOLDS);
        state = out.state;
        return out.view.partitionReasons;
      });
      expect(reasons).toEqual(rounds.map(([, expected]) => expected));
    });
  });
});
