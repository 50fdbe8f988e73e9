import { describe, expect, it } from 'vitest';
import { deriveHealthStates } from '../../src/derive/health-state.js';
import type { ResolvedMember } from '../../src/derive/identity.js';
import { deriveQuorum, type QuorumView } from '../../src/derive/quorum.js';
import type { MemberListEntry, MemberStatus } from '../../src/etcd/types.js';
import {
  clientUrlOf,
  ETCD_FIXTURE_VERSIONS,
  fixtureAlarms,
  fixtureHealth,
  fixtureMemberList,
  fixtureStatus,
  healthyCluster,
  resolvedRound,
  type EndpointAnswers,
} from '../etcd/fixtures.js';

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const h = healthyCluster(version);
  const answered = (endpoint: string, status: MemberStatus, list: readonly MemberListEntry[] = h.list) => ({
    endpoint,
    answers: { status, members: list, alarms: h.alarms, health: h.health },
  });
  const silent = (endpoint: string): EndpointAnswers => ({ endpoint, answers: {} });
  /**
   * A member cut off from its peers, answering as the survivor of the no-leader captures did: Status without
   * a leader and /health false. Transformation: the healthy capture's Status with its leader field cleared.
   */
  const NO_LEADER_HEALTH = fixtureHealth('no-leader/health.json', version);
  const leaderless = (e: EndpointAnswers): EndpointAnswers => ({
    endpoint: e.endpoint,
    answers: {
      ...e.answers,
      status: { ...(e.answers.status as MemberStatus), leaderId: '0' },
      health: NO_LEADER_HEALTH,
    },
  });

  const leader = answered(h.endpoints.leader, h.leader);
  const follower = answered(h.endpoints.follower, h.follower);
  const third = answered(h.endpoints.third, h.thirdStatus);

  // Transformation: the top-level member list with two more voting members, and Status answers for them
  // made from the follower's with their IDs — a 5-member cluster.
  const extraIds = ['5a5a5a5a5a5a5a5a', '6b6b6b6b6b6b6b6b'];
  const fiveList: MemberListEntry[] = [
    ...h.list,
    ...extraIds.map((id, i) => ({
      id,
      name: `fixtures-${3 + i}`,
      peerUrls: [`http://127.0.0.1:${40001 + i}`],
      clientUrls: [`http://127.0.0.1:${41001 + i}`],
      isLearner: false,
    })),
  ];
  /** The 5-member cluster with the leader and the first `upCount - 1` other members answering. */
  const five = (upCount: number) => {
    const others = fiveList.filter((m) => m.id !== h.leader.memberId);
    const up = new Set([h.leader.memberId, ...others.slice(0, upCount - 1).map((m) => m.id)]);
    return fiveList.map((m) => {
      const status = m.id === h.leader.memberId ? h.leader : { ...h.follower, memberId: m.id };
      const url = m.clientUrls[0] as string;
      return up.has(m.id) ? answered(url, status, fiveList) : silent(url);
    });
  };

  // Transformation: the top-level member list with the third member as a learner.
  const listWithLearner = h.list.map((m) => (m.id === h.third.id ? { ...m, isLearner: true } : m));

  /** Health states of a first round (no raft progress known yet), as deriveCluster computes them. */
  const statesOf = (resolved: readonly ResolvedMember[], alarmsActive = false) =>
    new Map([...deriveHealthStates(resolved, new Map(), alarmsActive).states].map(([m, h]) => [m, h.state]));

  const view = (members: readonly EndpointAnswers[], min = 2): QuorumView => {
    const { resolved, list } = resolvedRound(members);
    return deriveQuorum(resolved, list, min, statesOf(resolved));
  };

  describe('deriveQuorum', () => {
    it.each<[string, () => QuorumView, Partial<QuorumView>]>([
      [
        '3 voting, all healthy → tolerance 1',
        () => view([leader, follower, third]),
        {
          votingMembers: 3,
          learners: 0,
          membersReachable: 3,
          membersHealthy: 3,
          quorumSize: 2,
          quorumAvailable: true,
          failureTolerance: 1,
          belowMinAvailable: false,
        },
      ],
      [
        '3 voting, one down → tolerance 0',
        () => view([leader, follower, silent(h.endpoints.third)]),
        { votingMembers: 3, membersReachable: 2, quorumSize: 2, quorumAvailable: true, failureTolerance: 0 },
      ],
      [
        '3 voting, two down, the survivor without a leader → quorum lost, below min-available',
        () => view([leaderless(leader), silent(h.endpoints.follower), silent(h.endpoints.third)]),
        {
          votingMembers: 3,
          membersReachable: 1,
          membersHealthy: 0,
          membersAvailable: 0,
          quorumAvailable: false,
          failureTolerance: 0,
          belowMinAvailable: true,
        },
      ],
      [
        'a member that answers Status but whose /health fails is not healthy',
        () => view([leader, follower, { ...third, answers: { ...third.answers, health: undefined } }]),
        { membersReachable: 3, membersHealthy: 2, quorumAvailable: true, failureTolerance: 0 },
      ],
      [
        'a learner is not a voter: 2 voting + 1 learner, all healthy → tolerance 0',
        () =>
          view([
            answered(h.endpoints.leader, h.leader, listWithLearner),
            answered(h.endpoints.follower, h.follower, listWithLearner),
            answered(h.endpoints.third, { ...h.thirdStatus, isLearner: true }, listWithLearner),
          ]),
        {
          votingMembers: 2,
          learners: 1,
          membersHealthy: 3,
          quorumSize: 2,
          quorumAvailable: true,
          failureTolerance: 0,
        },
      ],
      [
        'captured list with an unstarted learner: 3 voting + 1 learner, one voter down',
        () => {
          const list = fixtureMemberList('load/member-list-with-learner.json', version);
          const at = (file: string) => {
            const status = fixtureStatus(file, version);
            return answered(clientUrlOf(list, status.memberId), status, list);
          };
          const leaderAnswer = at('load/status-leader-2.json');
          const followerAnswer = at('load/status-follower-2.json');
          const down = list.find(
            (m) =>
              !m.isLearner &&
              ![leaderAnswer.endpoint, followerAnswer.endpoint].includes(m.clientUrls[0] ?? ''),
          );
          return view([leaderAnswer, followerAnswer, silent(down?.clientUrls[0] as string)]);
        },
        { votingMembers: 3, learners: 1, quorumSize: 2, quorumAvailable: true, failureTolerance: 0 },
      ],
      [
        '5 voting, all healthy → quorum 3, tolerance 2',
        () => view(five(5)),
        { votingMembers: 5, quorumSize: 3, membersHealthy: 5, quorumAvailable: true, failureTolerance: 2 },
      ],
      [
        '5 voting, 3 healthy → tolerance 0',
        () => view(five(3)),
        { votingMembers: 5, quorumSize: 3, membersReachable: 3, quorumAvailable: true, failureTolerance: 0 },
      ],
      [
        '5 voting, 2 reachable without a leader → quorum lost',
        () => view(five(2).map((e) => (e.answers.status ? leaderless(e) : e))),
        { votingMembers: 5, quorumSize: 3, membersReachable: 2, quorumAvailable: false, failureTolerance: 0 },
      ],
      [
        // etcd 3.4 answers /health true only after a raft QGET committed: a majority acknowledged it.
        '5 voting, only 2 reachable but their /health true proves quorum → available, tolerance 0',
        () => view(five(2)),
        {
          votingMembers: 5,
          quorumSize: 3,
          membersReachable: 2,
          membersAvailable: 2,
          quorumAvailable: true,
          failureTolerance: 0,
          belowMinAvailable: false,
        },
      ],
      [
        'one configured endpoint answering /health true, the others unknown to the exporter → quorum available',
        () => view([leader, silent(h.endpoints.follower), silent(h.endpoints.third)]),
        {
          votingMembers: 3,
          membersReachable: 1,
          membersHealthy: 1,
          quorumAvailable: true,
          failureTolerance: 0,
        },
      ],
      [
        'no member list (nothing reachable): each configured endpoint counts as one voter',
        () => view([silent(h.endpoints.leader), silent(h.endpoints.follower), silent(h.endpoints.third)]),
        {
          votingMembers: 3,
          learners: 0,
          membersReachable: 0,
          membersHealthy: 0,
          quorumSize: 2,
          quorumAvailable: false,
          failureTolerance: 0,
          belowMinAvailable: true,
        },
      ],
      [
        '--min-available-nodes 3 with 3 healthy is not below',
        () => view([leader, follower, third], 3),
        { belowMinAvailable: false },
      ],
      [
        '--min-available-nodes 3 with 2 healthy is below, though quorum holds',
        () => view([leader, follower, silent(h.endpoints.third)], 3),
        { quorumAvailable: true, belowMinAvailable: true },
      ],
    ])('%s', (_, derive, expected) => {
      expect(derive()).toMatchObject(expected);
    });

    it('the NOSPACE member of the captures is reachable but not healthy (/health answered "false")', () => {
      // Real answers of the NOSPACE capture; the member list of that cluster was not captured.
      const status = fixtureStatus('nospace/status.json', version);
      const health = fixtureHealth('nospace/health.json', version);
      expect(health.healthy).toBe(false);
      const q = view([
        {
          endpoint: 'http://127.0.0.1:2379',
          answers: { status, alarms: fixtureAlarms('nospace/alarm-list.json', version), health },
        },
      ]);
      expect(q).toMatchObject({ votingMembers: 1, membersReachable: 1, membersHealthy: 0 });
    });

    it('a NOSPACE member still counts toward quorum when an alarm explains its failing /health', () => {
      const status = fixtureStatus('nospace/status.json', version);
      const health = fixtureHealth('nospace/health.json', version);
      expect(status.leaderId).not.toBe('0');
      const { resolved, list } = resolvedRound([
        {
          endpoint: 'http://127.0.0.1:2379',
          answers: { status, alarms: fixtureAlarms('nospace/alarm-list.json', version), health },
        },
      ]);
      expect(deriveQuorum(resolved, list, 1, statesOf(resolved, true), true)).toMatchObject({
        membersHealthy: 0,
        quorumAvailable: true,
        failureTolerance: 0,
        belowMinAvailable: false,
      });
      // Without an active alarm the same /health answer means the member cannot serve: quorum is lost.
      expect(deriveQuorum(resolved, list, 1, statesOf(resolved), false)).toMatchObject({
        quorumAvailable: false,
      });
    });
  });
});
