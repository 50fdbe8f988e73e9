import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/collect/snapshot.js';
import { latestMemberList, resolveMembers, type EndpointIdentity } from '../../src/derive/identity.js';
import {
  ETCD_FIXTURE_VERSIONS,
  fixtureMemberList,
  healthyCluster,
  memberSnapshot,
  ok,
  type MemberAnswers,
} from '../etcd/fixtures.js';

const snap = (members: { endpoint: string; answers: MemberAnswers }[], at = 1000): ClusterSnapshot => ({
  cluster: 'fixtures',
  takenAt: at,
  members: members.map((m) => memberSnapshot(m.endpoint, at, m.answers)),
});

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const h = healthyCluster(version);

  describe('latestMemberList', () => {
    it('takes the freshest successful answer', () => {
      const older = fixtureMemberList('member-list.json', version);
      const newer = fixtureMemberList('load/member-list-with-learner.json', version);
      const s: ClusterSnapshot = {
        cluster: 'x',
        takenAt: 3000,
        members: [
          { endpoint: 'http://127.0.0.1:1', members: ok(older, 1000) },
          { endpoint: 'http://127.0.0.1:2', members: ok(newer, 2000) },
          {
            endpoint: 'http://127.0.0.1:3',
            members: { ok: false, error: 'timeout', code: 'REQUEST_TIMEOUT', at: 3000, durationSeconds: 3 },
          },
        ],
      };
      expect(latestMemberList(s)).toBe(newer);
    });

    it('is undefined when nobody answered', () => {
      expect(latestMemberList(snap([{ endpoint: h.endpoints.leader, answers: {} }]))).toBeUndefined();
    });
  });

  describe('resolveMembers', () => {
    it('joins each endpoint with its member by the Status member ID, named as in the member list', () => {
      const s = snap([
        { endpoint: h.endpoints.leader, answers: { status: h.leader, members: h.list } },
        { endpoint: h.endpoints.follower, answers: { status: h.follower, members: h.list } },
      ]);
      const resolved = resolveMembers(s, h.list, new Map());
      expect(resolved.map((r) => [r.id, r.name, r.status?.memberId])).toEqual([
        [h.leader.memberId, h.names.leader, h.leader.memberId],
        [h.follower.memberId, h.names.follower, h.follower.memberId],
      ]);
    });

    it('a silent member is found by its client URL in the list (trailing slash and case do not matter)', () => {
      const endpoint = `${h.endpoints.third.toUpperCase().replace('HTTP://', 'http://')}/`;
      const s = snap([
        { endpoint: h.endpoints.leader, answers: { status: h.leader, members: h.list } },
        { endpoint, answers: {} },
      ]);
      const [, silent] = resolveMembers(s, h.list, new Map());
      expect(silent).toMatchObject({ endpoint, id: h.third.id, name: h.names.third });
      expect(silent?.status).toBeUndefined();
    });

    it('without a list, a silent member keeps the identity learned in an earlier round', () => {
      const known = new Map<string, EndpointIdentity>([
        [h.endpoints.third, { id: h.third.id, name: h.names.third }],
      ]);
      const [r] = resolveMembers(snap([{ endpoint: h.endpoints.third, answers: {} }]), undefined, known);
      expect(r).toMatchObject({ id: h.third.id, name: h.names.third });
    });

    it('a member never identified is named by host:port of its endpoint', () => {
      const [r] = resolveMembers(
        snap([{ endpoint: 'http://127.0.0.1:23790', answers: {} }]),
        undefined,
        new Map(),
      );
      expect(r).toMatchObject({ name: '127.0.0.1:23790' });
      expect(r?.id).toBeUndefined();
    });

    it('the Status member ID wins over the URL (an endpoint behind a proxy that reached another member)', () => {
      // The follower's endpoint answered with the leader's Status.
      const s = snap([{ endpoint: h.endpoints.follower, answers: { status: h.leader, members: h.list } }]);
      const [r] = resolveMembers(s, h.list, new Map());
      expect(r).toMatchObject({ id: h.leader.memberId, name: h.names.leader });
    });

    it('endpoints are matched by client URLs only, never by peer URLs (the unstarted learner has none)', () => {
      const list = fixtureMemberList('load/member-list-with-learner.json', version);
      const learner = list.find((m) => m.isLearner);
      const voter = list.find((m) => !m.isLearner);
      if (!learner || !voter) throw new Error('capture lacks a learner or a voter');
      const s = snap([
        { endpoint: learner.peerUrls[0] as string, answers: {} },
        { endpoint: voter.peerUrls[0] as string, answers: {} },
        { endpoint: voter.clientUrls[0] as string, answers: {} },
      ]);
      const [viaLearnerPeer, viaVoterPeer, viaVoterClient] = resolveMembers(s, list, new Map());
      expect(viaLearnerPeer?.id).toBeUndefined();
      expect(viaVoterPeer?.id).toBeUndefined();
      expect(viaVoterClient).toMatchObject({ id: voter.id, name: voter.name });
    });

    it('keeps the snapshot of each endpoint', () => {
      const s = snap([{ endpoint: h.endpoints.leader, answers: { status: h.leader } }]);
      expect(resolveMembers(s, undefined, new Map())[0]?.snapshot).toBe(s.members[0]);
    });
  });
});
