import { describe, expect, it } from 'vitest';
import { partitionSignals } from '../../src/derive/partition.js';
import type { PartitionReason } from '../../src/derive/view.js';
import type { ParsedMetrics } from '../../src/protocol/prom-text/types.js';
import type { MemberStatus } from '../../src/etcd/types.js';
import {
  ETCD_FIXTURE_VERSIONS,
  healthyCluster,
  resolvedRound,
  type EndpointAnswers,
} from '../etcd/fixtures.js';

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const h = healthyCluster(version);

  interface Answer {
    readonly status?: MemberStatus;
    readonly metrics?: ParsedMetrics;
  }

  const signals = (leader: Answer, follower: Answer, third: Answer): PartitionReason[] => {
    const entry = (endpoint: string, a: Answer): EndpointAnswers => ({
      endpoint,
      answers: a.status ? { ...a, members: h.list, health: h.health } : {},
    });
    const { resolved } = resolvedRound([
      entry(h.endpoints.leader, leader),
      entry(h.endpoints.follower, follower),
      entry(h.endpoints.third, third),
    ]);
    return [...partitionSignals(resolved)].sort();
  };

  // Transformation: the leader's capture without its etcd_network_active_peers series for the third
  // member, as if its raft stream to that member had dropped.
  const withoutPeer = (metrics: ParsedMetrics, remote: string): ParsedMetrics => {
    const copy = new Map(metrics);
    const family = metrics.get('etcd_network_active_peers');
    if (!family) throw new Error('capture has no etcd_network_active_peers');
    copy.set(family.name, {
      ...family,
      samples: family.samples.filter((s) => s.labels['Remote'] !== remote),
    });
    return copy;
  };

  const leader: Answer = { status: h.leader, metrics: h.leaderMetrics };
  const follower: Answer = { status: h.follower, metrics: h.followerMetrics };
  const third: Answer = { status: h.thirdStatus };

  describe('partitionSignals', () => {
    it.each<[string, Answer, Answer, Answer, PartitionReason[]]>([
      ['captured statuses agree: no sign', leader, follower, third, []],
      [
        'a member names another leader in the same term',
        leader,
        follower,
        { status: { ...h.thirdStatus, leaderId: h.third.id } },
        ['leader_disagreement'],
      ],
      [
        'a member is in another term',
        leader,
        follower,
        { status: { ...h.thirdStatus, raftTerm: 3 } },
        ['term_disagreement'],
      ],
      [
        'a member knows no leader while the others do',
        leader,
        follower,
        { status: { ...h.thirdStatus, leaderId: '0' } },
        ['member_without_leader'],
      ],
      [
        'nobody knows a leader: not a partition sign by itself',
        { status: { ...h.leader, leaderId: '0' } },
        { status: { ...h.follower, leaderId: '0' } },
        { status: { ...h.thirdStatus, leaderId: '0' } },
        [],
      ],
      [
        "unreachable member while the leader's capture shows an active raft stream to it",
        leader,
        follower,
        {},
        ['unreachable_but_peers_connected'],
      ],
      [
        'unreachable member with no peer holding a stream to it: down, not partitioned',
        { ...leader, metrics: withoutPeer(h.leaderMetrics, h.third.id) },
        { ...follower, metrics: withoutPeer(h.followerMetrics, h.third.id) },
        {},
        [],
      ],
      [
        "unreachable member whose peers' /metrics failed: nothing to judge by",
        { status: h.leader },
        { status: h.follower },
        {},
        [],
      ],
      [
        'several signs at once',
        leader,
        { status: { ...h.follower, raftTerm: 3, leaderId: '0' } },
        {},
        ['member_without_leader', 'term_disagreement', 'unreachable_but_peers_connected'],
      ],
    ])('%s', (_, l, f, t, expected) => {
      expect(signals(l, f, t)).toEqual(expected);
    });

    it('the follower capture also holds an active stream to the third member', () => {
      // Real data behind the "unreachable but peers connected" rows above.
      const remotes = h.followerMetrics
        .get('etcd_network_active_peers')
        ?.samples.map((s) => s.labels['Remote']);
      expect(remotes).toContain(h.third.id);
      expect(signals({ status: h.leader }, follower, {})).toEqual(['unreachable_but_peers_connected']);
    });
  });
});
