import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/collect/snapshot.js';
import { deriveCluster, INITIAL_DERIVE_STATE, type DeriveState } from '../../src/derive/derive-cluster.js';
import { activeStreams } from '../../src/derive/health-state.js';
import { partitionSignals } from '../../src/derive/partition.js';
import type { ParsedMetrics } from '../../src/protocol/prom-text/types.js';
import {
  fixtureHealth,
  fixtureMetrics,
  fixtureStatus,
  memberSnapshot,
  resolvedRound,
} from '../etcd/fixtures.js';
import { peerFault, peerFaultAt, peerFaultCluster } from './peer-fault-captures.js';

const p = peerFaultCluster();
const status = (who: 'leader' | 'follower') => fixtureStatus(peerFault(`one-way/status-${who}.json`));
const metrics = (who: 'leader' | 'follower', healed: boolean): ParsedMetrics =>
  fixtureMetrics(peerFault(`one-way/${who}-metrics${healed ? '-healed' : ''}.txt`));
const AT = peerFaultAt('one-way/leader-metrics.txt');
const ROUND_MS = 1000;

/**
 * One round of the one-way captures (follower → leader dropped, or 5 s after healing). The third member
 * was not captured; it answers the follower's Status with its own ID put in (a transformation), without
 * /metrics, so it is no evidence for or against a stream.
 */
function round(at: number, phase: 'partitioned' | 'healed', opts: { leaderMetrics?: boolean } = {}) {
  const healed = phase === 'healed';
  const health = healed
    ? { healthy: true, reason: '' }
    : fixtureHealth(peerFault('one-way/health-follower.json'));
  return [
    {
      endpoint: p.endpoints.leader,
      answers: {
        status: status('leader'),
        members: p.list,
        health: { healthy: true, reason: '' },
        ...(opts.leaderMetrics === false ? {} : { metrics: metrics('leader', healed) }),
      },
    },
    {
      endpoint: p.endpoints.follower,
      answers: { status: status('follower'), members: p.list, health, metrics: metrics('follower', healed) },
    },
    {
      endpoint: p.endpoints.third,
      answers: { status: { ...status('follower'), memberId: p.thirdId }, members: p.list, health },
    },
  ];
}

describe('one-way partition follower → leader (captures)', () => {
  it("the leader's capture has no active stream to the follower; the follower's still has one to the leader", () => {
    const { resolved } = resolvedRound(round(AT, 'partitioned'));
    const [leader, follower] = resolved;
    if (!leader || !follower) throw new Error('members missing');
    expect(activeStreams(leader, p.followerId)).toBe(0);
    expect(activeStreams(follower, p.leaderId)).toBe(1);
    // Status alone shows nothing: the follower names the leader, same term, same raft index.
    expect(follower.status?.leaderId).toBe(p.leaderId);
    expect(follower.status?.raftTerm).toBe(leader.status?.raftTerm);
  });

  it.each<[string, ReturnType<typeof round>, string[]]>([
    ['during the partition: peer_stream_down', round(AT, 'partitioned'), ['peer_stream_down']],
    ['5 s after healing: no sign', round(AT, 'healed'), []],
    [
      "the leader's /metrics failed: the follower's own side shows no fault, so no sign",
      round(AT, 'partitioned', { leaderMetrics: false }),
      [],
    ],
  ])('%s', (_, members, expected) => {
    expect([...partitionSignals(resolvedRound(members).resolved)].sort()).toEqual(expected);
  });

  it('over rounds: flagged in the 2nd partitioned round (within 3), cleared in the first healed round', () => {
    const snapshot = (i: number, phase: 'partitioned' | 'healed'): ClusterSnapshot => ({
      cluster: 'faults',
      takenAt: AT + i * ROUND_MS,
      members: round(AT + i * ROUND_MS, phase).map((m) =>
        memberSnapshot(m.endpoint, AT + i * ROUND_MS, m.answers),
      ),
    });
    const phases = ['healed', 'partitioned', 'partitioned', 'partitioned', 'healed', 'healed'] as const;
    let state: DeriveState = INITIAL_DERIVE_STATE;
    const reasons = phases.map((phase, i) => {
      const out = deriveCluster(state, snapshot(i, phase), {
        maxLatencyMs: 100,
        maxDbSizeBytes: 8 * 1024 ** 3,
        minAvailableNodes: 2,
        maxLeaderChangesPerHour: 3,
      });
      state = out.state;
      return out.view.partitionReasons;
    });
    expect(reasons).toEqual([[], [], ['peer_stream_down'], ['peer_stream_down'], [], []]);
  });

  it('a health round between two metrics rounds re-uses the same scrape: it does not count as a second round', () => {
    // Every round gets new Status/health answers; /metrics is new only in rounds 0, 2 and 4 (metrics rounds).
    const snapshot = (i: number, phase: 'partitioned' | 'healed'): ClusterSnapshot => {
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
    const reasons = (['partitioned', 'partitioned', 'partitioned', 'partitioned'] as const).map(
      (phase, i) => {
        const out = deriveCluster(state, snapshot(i, phase), {
          maxLatencyMs: 100,
          maxDbSizeBytes: 8 * 1024 ** 3,
          minAvailableNodes: 2,
          maxLeaderChangesPerHour: 3,
        });
        state = out.state;
        return out.view.partitionReasons;
      },
    );
    // Scrapes in rounds 0 and 2: reported from round 2, the second scrape that shows it.
    expect(reasons).toEqual([[], [], ['peer_stream_down'], ['peer_stream_down']]);
  });
});
