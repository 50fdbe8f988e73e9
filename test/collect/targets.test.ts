import { describe, expect, it } from 'vitest';
import {
  normaliseEndpoint,
  pickMemberList,
  planTargets,
  unwatchedMembers,
  type Target,
} from '../../src/collect/targets.js';
import type { MemberListEntry } from '../../src/etcd/types.js';
import { ETCD_FIXTURE_VERSIONS, fixtureMemberList } from '../etcd/fixtures.js';

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s member lists', (version) => {
  // Real captures: a healthy 3-member list, and a list with a learner added but not yet started (no name,
  // no client URLs).
  const LIST = fixtureMemberList('member-list.json', version);
  const WITH_LEARNER = fixtureMemberList('load/member-list-with-learner.json', version);
  const url = (list: readonly MemberListEntry[], name: string) =>
    list.find((m) => m.name === name)?.clientUrls[0] as string;
  const idOf = (list: readonly MemberListEntry[], name: string) => list.find((m) => m.name === name)?.id;
  const endpoints = (targets: readonly Target[]) => targets.map((t) => t.endpoint).sort();
  const LB = 'http://127.0.0.1:2379';

  describe('planTargets: the member list defines the cluster, the endpoints are seeds', () => {
    const allUrls = LIST.map((m) => m.clientUrls[0] as string).sort();
    const cases: {
      name: string;
      seeds: string[];
      current?: Target[];
      list: readonly MemberListEntry[] | undefined;
      failing?: string[];
      discover?: boolean;
      want: string[];
    }[] = [
      {
        name: 'one seed of three members: all three watched',
        seeds: [url(LIST, 'fixtures-0')],
        list: LIST,
        want: allUrls,
      },
      { name: 'a load-balancer seed is not watched itself', seeds: [LB], list: LIST, want: allUrls },
      { name: 'all three given: the same three', seeds: allUrls, list: LIST, want: allUrls },
      { name: 'before any list: the seeds', seeds: [LB], list: undefined, want: [LB] },
      {
        name: 'no list this round: discovered targets are kept (not back to the load balancer)',
        seeds: [LB],
        current: LIST.map((m) => ({
          endpoint: m.clientUrls[0] as string,
          memberId: m.id,
          origin: 'member-list',
        })),
        list: undefined,
        want: allUrls,
      },
      {
        name: 'discovery off: only the seeds, whatever the list says',
        seeds: [url(LIST, 'fixtures-0')],
        list: LIST,
        discover: false,
        want: [url(LIST, 'fixtures-0')],
      },
      {
        name: 'a learner that never started advertises no client URL: nothing to ask',
        seeds: [LB],
        list: WITH_LEARNER,
        want: WITH_LEARNER.filter((m) => m.clientUrls.length > 0)
          .map((m) => m.clientUrls[0] as string)
          .sort(),
      },
      {
        name: 'a removed member is no longer watched',
        seeds: [LB],
        current: LIST.map((m) => ({
          endpoint: m.clientUrls[0] as string,
          memberId: m.id,
          origin: 'member-list',
        })),
        list: LIST.filter((m) => m.name !== 'fixtures-2'),
        want: allUrls.filter((u) => u !== url(LIST, 'fixtures-2')),
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const targets = planTargets(
          c.seeds,
          c.current ?? [],
          c.list,
          new Set(c.failing ?? []),
          c.discover ?? true,
        );
        expect(endpoints(targets)).toEqual([...c.want].sort());
        if (c.list && (c.discover ?? true)) {
          for (const t of targets)
            expect(t.memberId, t.endpoint).toBe(c.list.find((m) => m.clientUrls.includes(t.endpoint))?.id);
        }
      });
    }

    // A member may advertise several client URLs (e.g. a loopback and a LAN address); only one is asked.
    const twoUrls: MemberListEntry[] = LIST.map((m) =>
      m.name === 'fixtures-0' ? { ...m, clientUrls: ['http://10.255.0.1:2379', ...m.clientUrls] } : m,
    );
    const id0 = idOf(LIST, 'fixtures-0') as string;

    it('a member with two URLs is watched once, through the first it advertises', () => {
      const targets = planTargets([LB], [], twoUrls, new Set(), true);
      expect(targets.filter((t) => t.memberId === id0).map((t) => t.endpoint)).toEqual([
        'http://10.255.0.1:2379',
      ]);
    });

    it('a URL the user gave as a seed wins over the advertised order', () => {
      const targets = planTargets([url(LIST, 'fixtures-0')], [], twoUrls, new Set(), true);
      expect(targets.filter((t) => t.memberId === id0).map((t) => t.endpoint)).toEqual([
        url(LIST, 'fixtures-0'),
      ]);
    });

    it('a failing URL moves to the member’s next one, and a working one stays', () => {
      const first = planTargets([LB], [], twoUrls, new Set(), true);
      const moved = planTargets([LB], first, twoUrls, new Set(['http://10.255.0.1:2379']), true);
      expect(moved.find((t) => t.memberId === id0)?.endpoint).toBe(url(LIST, 'fixtures-0'));
      const stays = planTargets([LB], moved, twoUrls, new Set(), true);
      expect(stays.find((t) => t.memberId === id0)?.endpoint).toBe(url(LIST, 'fixtures-0'));
    });
  });

  describe('pickMemberList', () => {
    it('prefers the leader’s answer within the grace, then the newest', () => {
      const leader = { at: 1000, members: LIST, fromLeader: true };
      const follower = { at: 1500, members: WITH_LEARNER, fromLeader: false };
      expect(pickMemberList([follower, leader], 1000)).toBe(LIST);
      // A leader's answer from rounds ago does not outweigh a newer one.
      expect(pickMemberList([follower, leader], 100)).toBe(WITH_LEARNER);
      expect(pickMemberList([{ ...leader, fromLeader: false }, follower], 1000)).toBe(WITH_LEARNER);
      expect(pickMemberList([], 1000)).toBeUndefined();
    });
  });

  describe('unwatchedMembers and normaliseEndpoint', () => {
    it('names the members no watched endpoint belongs to', () => {
      expect(
        unwatchedMembers(LIST, [url(LIST, 'fixtures-1')])
          .map((m) => m.name)
          .sort(),
      ).toEqual(['fixtures-0', 'fixtures-2']);
      expect(
        unwatchedMembers(
          LIST,
          LIST.map((m) => m.clientUrls[0] as string),
        ),
      ).toEqual([]);
    });

    it('normalises the way --endpoints is normalised; rejects what is no http(s) URL', () => {
      expect(normaliseEndpoint('HTTP://Etcd-0.example:2379/')).toBe('http://etcd-0.example:2379');
      expect(normaliseEndpoint('https://[::1]:2379')).toBe('https://[::1]:2379');
      expect(normaliseEndpoint('unix://etcd.sock')).toBeUndefined();
      expect(normaliseEndpoint('not a url')).toBeUndefined();
    });
  });
});
