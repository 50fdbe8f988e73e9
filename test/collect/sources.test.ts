import { describe, expect, expectTypeOf, it } from 'vitest';
import type { CollectorResult, MemberSnapshot } from '../../src/collect/snapshot.js';
import {
  COLLECTORS,
  probeKey,
  SOURCES,
  sourcesOf,
  type CollectorName,
  type FanOut,
  type RoundName,
  type SourceContext,
  type SourceValue,
} from '../../src/collect/sources.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { MemberHttpClient } from '../../src/etcd/http-client.js';
import type { MemberClient } from '../../src/etcd/member-client.js';
import type {
  AlarmEntry,
  MemberHashKv,
  MemberHealth,
  MemberListEntry,
  MemberStatus,
  ProbeResult,
} from '../../src/etcd/types.js';
import { sumOf } from '../../src/protocol/prom-text/index.js';
import type { ParsedMetrics } from '../../src/protocol/prom-text/types.js';
import {
  ETCD_FIXTURE_VERSIONS,
  fixtureAlarms,
  fixtureHealth,
  fixtureMemberList,
  fixtureStatus,
  fixtureText,
} from '../etcd/fixtures.js';

const ROUNDS: readonly RoundName[] = ['metrics', 'health', 'hashkv'];

// The documented schedule (README's interval table): which rounds ask which source, of how many members.
// Row order is the order REST `collectors`, the OpenAPI enum and /metrics list the collectors in.
const SCHEDULE: readonly ({ name: CollectorName } & Partial<Record<RoundName, FanOut>>)[] = [
  { name: 'metrics', metrics: 'all' },
  { name: 'status', metrics: 'all', health: 'all' },
  { name: 'members', metrics: 'one', health: 'all' },
  { name: 'alarms', health: 'one' },
  { name: 'health', health: 'all' },
  { name: 'probe', health: 'all' },
  { name: 'hashkv', hashkv: 'all' },
];

const config = (probe: boolean) =>
  resolveConfig({ flags: { endpoints: 'http://127.0.0.1:2379', probe }, env: {} });
const scheduled = (round: RoundName, probe: boolean) =>
  sourcesOf(round, config(probe)).map(({ source, fanOut }) => [source.name, fanOut]);

describe('SOURCES: one entry per collector, scheduled as documented', () => {
  it('COLLECTORS lists every source once, in table order', () => {
    expect(COLLECTORS).toEqual(SCHEDULE.map((row) => row.name));
    expect(SOURCES.map((s) => s.name)).toEqual(COLLECTORS);
    expect(new Set(COLLECTORS).size).toBe(SOURCES.length);
  });

  it.each(ROUNDS)('the %s round runs its sources in table order with their fan-out', (round) => {
    const expected = SCHEDULE.flatMap((row) => (row[round] ? [[row.name, row[round]]] : []));
    expect(scheduled(round, true)).toEqual(expected);
  });

  it('every source runs in some round', () => {
    const ran = new Set(ROUNDS.flatMap((round) => scheduled(round, true).map(([name]) => name)));
    expect([...ran].sort()).toEqual([...COLLECTORS].sort());
  });

  it('--no-probe leaves the probe out of the health round and changes nothing else', () => {
    expect(scheduled('health', false)).toEqual(
      scheduled('health', true).filter(([name]) => name !== 'probe'),
    );
    expect(scheduled('metrics', false)).toEqual(scheduled('metrics', true));
    expect(scheduled('hashkv', false)).toEqual(scheduled('hashkv', true));
  });

  it('the snapshot field of each source has the type its run answers', () => {
    expectTypeOf<SourceValue<'metrics'>>().toEqualTypeOf<ParsedMetrics>();
    expectTypeOf<SourceValue<'status'>>().toEqualTypeOf<MemberStatus>();
    expectTypeOf<SourceValue<'members'>>().toEqualTypeOf<readonly MemberListEntry[]>();
    expectTypeOf<SourceValue<'alarms'>>().toEqualTypeOf<readonly AlarmEntry[]>();
    expectTypeOf<SourceValue<'health'>>().toEqualTypeOf<MemberHealth>();
    expectTypeOf<SourceValue<'probe'>>().toEqualTypeOf<ProbeResult>();
    expectTypeOf<SourceValue<'hashkv'>>().toEqualTypeOf<MemberHashKv>();
    expectTypeOf<MemberSnapshot['hashkv']>().toEqualTypeOf<CollectorResult<MemberHashKv> | undefined>();
    expectTypeOf<keyof MemberSnapshot>().toEqualTypeOf<
      CollectorName | 'endpoint' | 'discovered' | 'errorCounts'
    >();
  });
});

describe.each(ETCD_FIXTURE_VERSIONS)(
  "each source's run asks its member the right thing (real etcd %s captures as answers)",
  (version) => {
    const leader = fixtureStatus('status-leader.json', version);
    const follower = fixtureStatus('status-follower.json', version);
    const endpoint = 'http://127.0.0.1:2379';
    const cfg = config(true);
    const cluster = cfg.clusters[0] as (typeof cfg.clusters)[number];

    /** A member that answers every call with a capture and records what it was asked. */
    function member(statuses: readonly MemberStatus[]) {
      const calls: unknown[][] = [];
      const answer =
        (name: string, value: unknown) =>
        async (...args: unknown[]) => {
          calls.push([name, ...args]);
          return value;
        };
      const client = {
        status: answer('status', leader),
        memberList: answer('memberList', fixtureMemberList('member-list.json', version)),
        alarms: answer('alarms', fixtureAlarms('alarm-list.json', version)),
        probe: answer('probe', { writeSeconds: 0.002, readSeconds: 0.001 }),
        hashKv: answer('hashKv', { revision: 1, hash: 2, compactRevision: 0 }),
      } as unknown as MemberClient;
      const http = {
        fetchMetricsText: answer('fetchMetricsText', fixtureText('leader-metrics.txt', version)),
        health: answer('health', fixtureHealth('health.json', version)),
      } as unknown as MemberHttpClient;
      const ctx: SourceContext = {
        endpoint,
        client,
        http,
        config: cfg,
        cluster,
        status: statuses[0],
        statuses,
      };
      return { ctx, calls };
    }
    const byName = (name: CollectorName) => SOURCES.find((s) => s.name === name) as (typeof SOURCES)[number];

    const cases: { name: CollectorName; asked: unknown[] }[] = [
      { name: 'metrics', asked: ['fetchMetricsText', endpoint] },
      { name: 'status', asked: ['status'] },
      { name: 'members', asked: ['memberList'] },
      { name: 'alarms', asked: ['alarms'] },
      { name: 'health', asked: ['health', endpoint] },
      {
        name: 'probe',
        asked: ['probe', `/etcd-monitor/probe/${cluster.name}/${leader.memberId}`, cfg.probe.leaseTtlSeconds],
      },
      // A follower three revisions behind (the capture transformed): HashKV is asked at the lowest.
      { name: 'hashkv', asked: ['hashKv', leader.revision - 3] },
    ];
    it.each(cases)('$name asks $asked', async ({ name, asked }) => {
      const { ctx, calls } = member([leader, { ...follower, revision: leader.revision - 3 }]);
      await byName(name).run(ctx);
      expect(calls).toEqual([asked]);
    });

    it('metrics parses the body it fetched', async () => {
      const value = (await byName('metrics').run(member([]).ctx)) as ParsedMetrics;
      expect(sumOf(value, 'etcd_server_has_leader')).toBe(1);
    });

    it('hashkv is skipped for the round while no member has a status, every other source never is', () => {
      expect(byName('hashkv').ready?.([])).toBe(false);
      expect(byName('hashkv').ready?.([follower])).toBe(true);
      expect(SOURCES.filter((s) => 'ready' in s).map((s) => s.name)).toEqual(['hashkv']);
    });
  },
);

describe('probeKey: one key per member under its cluster', () => {
  const cfg = config(true);
  const cluster = { ...(cfg.clusters[0] as (typeof cfg.clusters)[number]), name: 'prod' };
  const status = fixtureStatus('status-leader.json');
  const cases = [
    { endpoint: 'http://10.0.0.1:2379', status, key: `/etcd-monitor/probe/prod/${status.memberId}` },
    // No status yet (or the latest failed): the address, as URL.host writes it.
    { endpoint: 'http://10.0.0.1:2379', status: undefined, key: '/etcd-monitor/probe/prod/10.0.0.1:2379' },
    { endpoint: 'https://[::1]:2379', status: undefined, key: '/etcd-monitor/probe/prod/[::1]:2379' },
  ];
  it.each(cases)('$endpoint, status $status.memberId → $key', ({ endpoint, status, key }) => {
    expect(probeKey({ endpoint, status, config: cfg, cluster })).toBe(key);
  });
});
