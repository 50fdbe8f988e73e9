// The health state and quorum of a follower whose traffic to the leader is lost (captures in
// test/fixtures/etcd-3.4/peer-faults/one-way): Status names the leader and /health fails, like a slow
// member, but the leader has no stream to it and never gets its acknowledgements. The network-fault suite
// (test/exporter/fault-suite-3.test.ts) saw it reported slow and tolerance 1 where etcd had 0.
import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/collect/snapshot.js';
import { deriveCluster, INITIAL_DERIVE_STATE, type DeriveState } from '../../src/derive/derive-cluster.js';
import { deriveHealthStates } from '../../src/derive/health-state.js';
import {
  fixtureHealth,
  fixtureMetrics,
  fixtureStatus,
  memberSnapshot,
  resolvedRound,
} from '../etcd/fixtures.js';
import { peerFault, peerFaultAt, peerFaultCluster } from './peer-fault-captures.js';

const p = peerFaultCluster();
const AT = peerFaultAt('one-way/leader-metrics.txt');
const status = (who: 'leader' | 'follower') => fixtureStatus(peerFault(`one-way/status-${who}.json`));
const healthy = { healthy: true, reason: '' };

/**
 * One round: the leader and the third member healthy (the third answers the leader's Status with its own
 * ID put in, a transformation: it was not captured); the follower as captured during the partition or
 * after healing. `leaderMetrics`/`followerMetrics` choose which scrapes the round has.
 */
function round(opts: { healed?: boolean; leaderMetrics?: boolean; followerMetrics?: boolean }) {
  const healed = opts.healed === true;
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
          : { metrics: fixtureMetrics(peerFault(`one-way/leader-metrics${sfx}.txt`)) }),
      },
    },
    {
      endpoint: p.endpoints.follower,
      answers: {
        status: status('follower'),
        members: p.list,
        health: healed ? healthy : fixtureHealth(peerFault('one-way/health-follower.json')),
        ...(opts.followerMetrics === false
          ? {}
          : { metrics: fixtureMetrics(peerFault(`one-way/follower-metrics${sfx}.txt`)) }),
      },
    },
    {
      endpoint: p.endpoints.third,
      answers: { status: { ...status('leader'), memberId: p.thirdId }, members: p.list, health: healthy },
    },
  ];
}

describe('follower → leader lost (captures): the follower is not slow, it is cut off', () => {
  it.each<[string, ReturnType<typeof round>, string, RegExp]>([
    ['during the partition', round({}), 'unhealthy', /leader .* has no active raft stream to it/],
    // The follower's own side still shows its stream; the leader's is the evidence.
    [
      "during the partition, the leader's /metrics failed: no evidence, slow",
      round({ leaderMetrics: false }),
      'slow',
      /probe|raft index/,
    ],
    ['5 s after healing: /health true again', round({ healed: true }), 'healthy', /\/health true/],
  ])('%s', (_, members, state, reason) => {
    const { resolved } = resolvedRound(members, AT);
    // A probe write that committed would make it slow without raft progress; give it one, as the exporter got.
    const follower = resolved.find((m) => m.id === p.followerId);
    if (!follower) throw new Error('follower missing');
    const withProbe = resolved.map((m) =>
      m === follower
        ? {
            ...m,
            snapshot: {
              ...m.snapshot,
              probe: {
                ok: true as const,
                at: AT,
                durationSeconds: 0.91,
                value: { readSeconds: 0.01, writeSeconds: 0.9 },
              },
            },
          }
        : m,
    );
    const { states } = deriveHealthStates(withProbe as typeof resolved, new Map(), false);
    const got = [...states].find(([m]) => m.id === p.followerId)?.[1];
    expect(got?.state, got?.reason).toBe(state);
    expect(got?.reason).toMatch(reason);
  });

  it('over rounds: quorum held with tolerance 0 during the partition (was 1), 1 after healing', () => {
    const snapshot = (i: number, healed: boolean): ClusterSnapshot => ({
      cluster: 'faults',
      takenAt: AT + i * 1000,
      // Every member's probe write committed, as the exporter's did in the suite (so progress alone decides nothing).
      members: round({ healed }).map((m) => ({
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
    const seen = [false, true, true, false].map((healed, i) => {
      const out = deriveCluster(state, snapshot(i, healed), {
        maxLatencyMs: 100,
        maxDbSizeBytes: 8 * 1024 ** 3,
        minAvailableNodes: 2,
        maxLeaderChangesPerHour: 3,
      });
      state = out.state;
      return [out.view.quorumAvailable, out.view.failureTolerance];
    });
    // Round 0 is the partition (not healed), rounds 1-2 healed, round 3 the partition again.
    expect(seen).toEqual([
      [true, 0],
      [true, 1],
      [true, 1],
      [true, 0],
    ]);
  });
});
