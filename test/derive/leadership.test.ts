import { describe, expect, it } from 'vitest';
import { deriveLeadership, type LeadershipView } from '../../src/derive/leadership.js';
import type { MemberStatus } from '../../src/etcd/types.js';
import {
  ETCD_FIXTURE_VERSIONS,
  fixtureStatus,
  healthyCluster,
  resolvedRound,
  type EndpointAnswers,
} from '../etcd/fixtures.js';

// Statuses are the captured ones; variations (another term, another leader) are transformations of
// them, named in each row. The captured term is 2 in both the etcd 3.4 and 3.5 captures
// (status-leader.json: "raftTerm":"2"); the first test checks it, so the rows' terms 3 and 4 are newer.
describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const h = healthyCluster(version);
  const L = h.leader.memberId;
  const F = h.follower.memberId;
  const T = h.third.id;

  const round = (leader?: MemberStatus, follower?: MemberStatus, third?: MemberStatus) => {
    const entry = (endpoint: string, status?: MemberStatus): EndpointAnswers => ({
      endpoint,
      answers: status ? { status, members: h.list, health: h.health } : {},
    });
    return deriveLeadership(
      resolvedRound([
        entry(h.endpoints.leader, leader),
        entry(h.endpoints.follower, follower),
        entry(h.endpoints.third, third),
      ]).resolved,
    );
  };

  describe('deriveLeadership', () => {
    it('the captured statuses are in term 2', () => {
      expect([h.leader.raftTerm, h.follower.raftTerm]).toEqual([2, 2]);
    });

    it.each<[string, () => LeadershipView, LeadershipView]>([
      [
        'captured statuses: one leader everyone agrees on',
        () => round(h.leader, h.follower, h.thirdStatus),
        {
          hasLeader: true,
          leaderId: L,
          leaderTerm: 2,
          distinctLeadersClaimed: 1,
          splitBrain: false,
          staleLeader: false,
        },
      ],
      [
        'only the follower answers: its view names the leader',
        () => round(undefined, h.follower),
        {
          hasLeader: true,
          leaderId: L,
          leaderTerm: 2,
          distinctLeadersClaimed: 1,
          splitBrain: false,
          staleLeader: false,
        },
      ],
      [
        'two members claim leadership in the same term (follower status with leader = itself) → split brain',
        () => round(h.leader, { ...h.follower, leaderId: F }, h.thirdStatus),
        {
          hasLeader: true,
          leaderId: L,
          leaderTerm: 2,
          distinctLeadersClaimed: 2,
          splitBrain: true,
          staleLeader: false,
        },
      ],
      [
        'old leader still claims term 2 while the others moved to term 3 under the follower → stale leader',
        () =>
          round(
            h.leader,
            { ...h.follower, raftTerm: 3, leaderId: F },
            { ...h.thirdStatus, raftTerm: 3, leaderId: F },
          ),
        {
          hasLeader: true,
          leaderId: F,
          leaderTerm: 3,
          distinctLeadersClaimed: 2,
          splitBrain: false,
          staleLeader: true,
        },
      ],
      [
        'members in the newest term name no leader (election running) → no leader',
        () =>
          round(
            undefined,
            { ...h.follower, raftTerm: 3, leaderId: '0' },
            { ...h.thirdStatus, raftTerm: 3, leaderId: '0' },
          ),
        { hasLeader: false, distinctLeadersClaimed: 0, splitBrain: false, staleLeader: false },
      ],
      [
        'no member answered',
        () => round(),
        { hasLeader: false, distinctLeadersClaimed: 0, splitBrain: false, staleLeader: false },
      ],
      [
        'the newest term decides: an older term naming another leader is outvoted',
        () => round(undefined, { ...h.follower, raftTerm: 4, leaderId: T }, h.thirdStatus),
        {
          hasLeader: true,
          leaderId: T,
          leaderTerm: 4,
          distinctLeadersClaimed: 2,
          splitBrain: false,
          staleLeader: false,
        },
      ],
    ])('%s', (_, derive, expected) => {
      expect(derive()).toEqual(expected);
    });

    it('the single-member NOSPACE capture leads itself', () => {
      const status = fixtureStatus('nospace/status.json', version);
      const view = deriveLeadership(
        resolvedRound([{ endpoint: 'http://127.0.0.1:2379', answers: { status } }]).resolved,
      );
      expect(view).toMatchObject({ hasLeader: true, leaderId: status.memberId, splitBrain: false });
    });
  });
});
