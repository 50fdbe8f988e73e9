// The health state and quorum of a follower whose traffic to the leader is lost (captures in
// test/fixtures/etcd-<version>/peer-faults/one-way): Status names the leader and /health fails, like a
// slow member, but the leader never gets its acknowledgements. The network-fault suite
// (test/exporter/fault-suite-3.test.ts) saw it reported slow and tolerance 1 where etcd had 0. etcd 3.4
// shows it on the leader's stream gauge (etcd_network_active_peers 0); etcd 3.5 keeps that gauge at 1, and
// only the leader's received-bytes counter, frozen between two scrapes, shows it.
import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/collect/snapshot.js';
import { deriveCluster, INITIAL_DERIVE_STATE, type DeriveState } from '../../src/derive/derive-cluster.js';
import { deriveHealthStates } from '../../src/derive/health-state.js';
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

/** Which scrape of the leader a round has: during the partition, 2 s later, or 5 s after healing. */
type Phase = 'partitioned' | 'later' | 'healed';

/** What each version's captures make of the follower, read off its files (see the READMEs). */
const EXPECTED: Record<
  EtcdFixtureVersion,
  {
    /** Why the follower is unhealthy in the second partitioned round. */
    readonly cutReason: RegExp;
    /** Phases of the "over rounds" test and [quorum available, failure tolerance] after each. */
    readonly overRounds: readonly (readonly [Phase, readonly [boolean, number]])[];
  }
> = {
  '3.4': {
    // The leader's active_peers{Remote=<follower>} reads 0 in every scrape during the partition.
    cutReason: /leader .* has no active raft stream to it/,
    overRounds: [
      ['partitioned', [true, 0]],
      ['healed', [true, 1]],
      ['healed', [true, 1]],
      ['partitioned', [true, 0]],
    ],
  },
  '3.5': {
    // active_peers reads 1 on both sides; from the follower the leader received 8977 bytes in both
    // partitioned scrapes while the bytes from the third member grew.
    cutReason: /leader .* received no raft traffic from it between its last two scrapes/,
    overRounds: [
      // One scrape shows nothing yet: for one metrics interval the follower passes for slow.
      ['partitioned', [true, 1]],
      ['later', [true, 0]],
      ['healed', [true, 1]],
      ['healed', [true, 1]],
    ],
  },
};

describe.each(ETCD_FIXTURE_VERSIONS)(
  'etcd %s: follower → leader lost (captures): the follower is not slow, it is cut off',
  (version) => {
    const p = peerFaultCluster(version);
    const AT = peerFaultAt('one-way/leader-metrics.txt', version);
    const status = (who: 'leader' | 'follower') =>
      fixtureStatus(peerFault(`one-way/status-${who}.json`), version);
    const healthy = { healthy: true, reason: '' };
    const leaderScrape = { partitioned: '', later: '-later', healed: '-healed' } as const;

    /**
     * One round: the leader and the third member healthy (the third answers the leader's Status with its
     * own ID put in, a transformation: it was not captured); the follower as captured during the partition
     * or after healing. `leaderMetrics`/`followerMetrics` choose which scrapes the round has.
     */
    function round(phase: Phase, opts: { leaderMetrics?: boolean; followerMetrics?: boolean } = {}) {
      const healed = phase === 'healed';
      const sfx = healed ? '-healed' : '';
      return [
        {
          endpoint: p.endpoints.leader,
          answers: {
            status: status('leader'),
            members: p.list,
            health: healthy,
            ...(opts.leaderMetrics === false
              ? {}
              : {
                  metrics: fixtureMetrics(
                    peerFault(`one-way/leader-metrics${leaderScrape[phase]}.txt`),
                    version,
                  ),
                }),
          },
        },
        {
          endpoint: p.endpoints.follower,
          answers: {
            status: status('follower'),
            members: p.list,
            health: healed ? healthy : fixtureHealth(peerFault('one-way/health-follower.json'), version),
            ...(opts.followerMetrics === false
              ? {}
              : { metrics: fixtureMetrics(peerFault(`one-way/follower-metrics${sfx}.txt`), version) }),
          },
        },
        {
          endpoint: p.endpoints.third,
          answers: {
            status: { ...status('leader'), memberId: p.thirdId },
            members: p.list,
            health: healthy,
          },
        },
      ];
    }

    it.each<[string, ReturnType<typeof round>, string, RegExp]>([
      ['during the partition', round('later'), 'unhealthy', EXPECTED[version].cutReason],
      // The follower's own side still shows its stream; the leader's is the evidence.
      [
        "during the partition, the leader's /metrics failed: no evidence, slow",
        round('later', { leaderMetrics: false }),
        'slow',
        /probe|raft index/,
      ],
      ['5 s after healing: /health true again', round('healed'), 'healthy', /\/health true/],
    ])('%s (after a first round during the partition)', (_, members, state, reason) => {
      // A probe write that committed would make it slow without raft progress; give it one, as the exporter got.
      const withProbe = (m: ReturnType<typeof round>, at: number) => {
        const { resolved } = resolvedRound(m, at);
        return resolved.map((r) =>
          r.id === p.followerId
            ? {
                ...r,
                snapshot: {
                  ...r.snapshot,
                  probe: {
                    ok: true as const,
                    at,
                    durationSeconds: 0.91,
                    value: { readSeconds: 0.01, writeSeconds: 0.9 },
                  },
                },
              }
            : r,
        );
      };
      const first = deriveHealthStates(withProbe(round('partitioned'), AT), new Map(), false);
      const { states } = deriveHealthStates(
        withProbe(members, AT + 2000),
        first.progress,
        false,
        first.traffic,
      );
      const got = [...states].find(([m]) => m.id === p.followerId)?.[1];
      expect(got?.state, got?.reason).toBe(state);
      expect(got?.reason).toMatch(reason);
    });

    it('over rounds: quorum held with tolerance 0 during the partition, 1 after healing', () => {
      const snapshot = (i: number, phase: Phase): ClusterSnapshot => ({
        cluster: 'faults',
        takenAt: AT + i * 1000,
        // Every member's probe write committed, as the exporter's did in the suite (so progress alone decides nothing).
        members: round(phase).map((m) => ({
          ...memberSnapshot(m.endpoint, AT + i * 1000, m.answers),
          probe: {
            ok: true as const,
            at: AT + i * 1000,
            durationSeconds: 0.91,
            value: { readSeconds: 0.01, writeSeconds: 0.9 },
          },
        })),
      });
      let state: DeriveState = INITIAL_DERIVE_STATE;
      const rounds = EXPECTED[version].overRounds;
      const seen = rounds.map(([phase], i) => {
        const out = deriveCluster(state, snapshot(i, phase), DEFAULT_THRESHOLDS);
        state = out.state;
        return [out.view.quorumAvailable, out.view.failureTolerance];
      });
      expect(seen).toEqual(rounds.map(([, expected]) => expected));
    });
  },
);
