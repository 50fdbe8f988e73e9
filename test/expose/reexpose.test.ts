import { describe, expect, it } from 'vitest';
import { FIELDS } from '../../src/config/fields.js';
import { deriveCluster, INITIAL_DERIVE_STATE } from '../../src/derive/derive-cluster.js';
import { parsePromText } from '../../src/protocol/prom-text/index.js';
import { MetricsText } from '../../src/protocol/prom-text/metrics-text.js';
import type { MetricFamily, ParsedMetrics } from '../../src/protocol/prom-text/types.js';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import { createExporterMetrics, renderAll } from '../../src/expose/registry.js';
import {
  assembleReexposed,
  exposedType,
  renderFamilyChunks,
  renderReexposed,
  type ReexposeSource,
} from '../../src/expose/reexpose.js';
import { capturedClusterSnapshot, fixtureMetrics } from '../etcd/fixtures.js';
import { promtoolCheckMetrics } from './promtool.js';

const ALLOW = FIELDS.reexposeAllow.defaultValue.map((p) => new RegExp(p));
const OWN = new Set(ALL_METRICS.map((d) => d.name));
const allowed = (name: string) => ALLOW.some((re) => re.test(name));
/** The gRPC streams kept before first use (service/method). */
const STREAMS = ['etcdserverpb.Watch/Watch', 'etcdserverpb.Lease/LeaseKeepAlive'];

const SOURCES: ReexposeSource[] = [
  {
    cluster: 'prod-east',
    member: 'fixtures-1',
    instance: '127.0.0.1:2379',
    metrics: fixtureMetrics('leader-metrics.txt'),
  },
  {
    cluster: 'prod-east',
    member: 'fixtures-0',
    instance: '127.0.0.1:22379',
    metrics: fixtureMetrics('follower-metrics.txt'),
  },
];
const text = renderReexposed(SOURCES, ALLOW, OWN);
const lines = text.split('\n').filter((l) => l !== '');

describe('renderReexposed on the leader and follower captures', () => {
  it('promtool really lints what it is given (a counter without _total is reported)', () => {
    const result = promtoolCheckMetrics(
      '# HELP x_seconds A counter.\n# TYPE x_seconds counter\nx_seconds 1\n',
    );
    expect(result.output).toMatch(/_total/);
  });

  it('passes `promtool check metrics` without a single lint message', () => {
    const result = promtoolCheckMetrics(text);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('keeps every family the default allow list matches, and only those', () => {
    const expected = new Set(SOURCES.flatMap((s) => [...s.metrics.keys()].filter(allowed)));
    const rendered = new Set(lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
    expect(rendered).toEqual(expected);
    // Families the upstream etcd mixin charts are among them.
    for (const name of [
      'etcd_server_has_leader',
      'etcd_server_leader_changes_seen_total',
      'etcd_disk_wal_fsync_duration_seconds',
      'etcd_disk_backend_commit_duration_seconds',
      'etcd_mvcc_db_total_size_in_bytes',
      'etcd_network_peer_round_trip_time_seconds',
      'grpc_server_started_total',
      'grpc_server_handled_total',
      'process_resident_memory_bytes',
    ])
      expect(rendered.has(name), name).toBe(true);
    // Unstable or runtime families stay out.
    for (const name of [
      'go_goroutines',
      'etcd_debugging_lease_ttl_total',
      'promhttp_metric_handler_requests_total',
    ])
      expect(rendered.has(name), name).toBe(false);
  });

  it('HELP and TYPE appear once per family though two members export it', () => {
    const count = (prefix: string) => {
      const seen = new Map<string, number>();
      for (const l of lines.filter((x) => x.startsWith(prefix))) {
        const name = l.split(' ')[2] as string;
        seen.set(name, (seen.get(name) ?? 0) + 1);
      }
      return seen;
    };
    const help = count('# HELP ');
    const type = count('# TYPE ');
    expect([...help.values()].every((n) => n === 1)).toBe(true);
    expect([...type.values()].every((n) => n === 1)).toBe(true);
    expect([...help.keys()].sort()).toEqual([...type.keys()].sort());
  });

  it('every sample of both members is there, with cluster, member and instance labels first', () => {
    const samples = lines.filter((l) => !l.startsWith('#'));
    // gRPC series of methods a member never served are left out, but for the Watch and LeaseKeepAlive
    // streams (see the next tests).
    const served = (s: (typeof SOURCES)[number]) =>
      new Set([
        ...STREAMS,
        ...(s.metrics.get('grpc_server_started_total')?.samples ?? [])
          .filter((x) => x.value > 0)
          .map((x) => `${x.labels['grpc_service']}/${x.labels['grpc_method']}`),
      ]);
    const kept = (
      s: (typeof SOURCES)[number],
      f: { name: string; samples: readonly { labels: Record<string, string> }[] },
    ) =>
      f.name.startsWith('grpc_server_')
        ? f.samples.filter((x) => served(s).has(`${x.labels['grpc_service']}/${x.labels['grpc_method']}`))
            .length
        : f.samples.length;
    const expected = SOURCES.reduce(
      (n, s) =>
        n + [...s.metrics.values()].filter((f) => allowed(f.name)).reduce((k, f) => k + kept(s, f), 0),
      0,
    );
    expect(samples).toHaveLength(expected);
    for (const l of samples)
      expect(l).toMatch(
        /^[a-zA-Z_:][a-zA-Z0-9_:]*\{cluster="prod-east",member="fixtures-(1",instance="127\.0\.0\.1:2379"|0",instance="127\.0\.0\.1:22379")[,}]/,
      );
    expect(samples.filter((l) => l.includes('member="fixtures-1"')).length).toBeGreaterThan(300);
    expect(samples.filter((l) => l.includes('member="fixtures-0"')).length).toBeGreaterThan(300);
  });

  it('leaves out the all-zero gRPC series of methods a member never served (but the two streams), keeps the served ones', () => {
    const grpc = lines.filter((l) => l.startsWith('grpc_server_handled_total{'));
    // Every member serves Range and Status (the fixtures were captured while the harness polled them).
    expect(grpc.some((l) => l.includes('grpc_method="Range"') && l.includes('grpc_code="OK"'))).toBe(true);
    for (const source of SOURCES) {
      const started = source.metrics.get('grpc_server_started_total')?.samples ?? [];
      const needle = (x: (typeof started)[number]) =>
        `member="${source.member}",instance="${source.instance}",grpc_code="OK",grpc_method="${x.labels['grpc_method']}",grpc_service="${x.labels['grpc_service']}"`;
      const stream = (x: (typeof started)[number]) =>
        STREAMS.includes(`${x.labels['grpc_service']}/${x.labels['grpc_method']}`);
      const unused = started.filter((x) => x.value === 0 && !stream(x));
      const used = started.filter((x) => x.value > 0);
      expect(unused.length).toBeGreaterThan(10);
      expect(used.length).toBeGreaterThan(0);
      for (const x of used)
        expect(
          grpc.some((l) => l.includes(needle(x))),
          needle(x),
        ).toBe(true);
      for (const x of unused)
        expect(
          grpc.some((l) => l.includes(needle(x))),
          needle(x),
        ).toBe(false);
    }
  });

  it('round-trips: parsing the output gives the members’ samples with the two labels added', () => {
    const reparsed = parsePromText(text);
    const family = reparsed.get('etcd_network_active_peers');
    const original = SOURCES.flatMap((s) =>
      (s.metrics.get('etcd_network_active_peers')?.samples ?? []).map((x) => ({
        ...x,
        labels: { cluster: s.cluster, member: s.member, instance: s.instance, ...x.labels },
      })),
    );
    expect(family?.samples).toEqual(original);
    expect(reparsed.get('etcd_disk_wal_fsync_duration_seconds')?.type).toBe('histogram');
  });

  it('escapes label values and replaces labels named cluster, member or instance', () => {
    // Transformation: one captured family with label values that need escaping and a clashing label.
    const base = fixtureMetrics('leader-metrics.txt').get('etcd_server_has_leader') as MetricFamily;
    const tricky: MetricFamily = {
      ...base,
      samples: base.samples.map((s) => ({
        ...s,
        labels: { member: 'spoofed', instance: 'spoofed:1', path: 'C:\\etcd "x"\nnext' },
      })),
    };
    const out = renderReexposed(
      [{ cluster: 'a"b', member: 'm\\1', instance: '[::1]:2379', metrics: new Map([[base.name, tricky]]) }],
      ALLOW,
      new Set(),
    );
    expect(out).toContain(
      'etcd_server_has_leader{cluster="a\\"b",member="m\\\\1",instance="[::1]:2379",path="C:\\\\etcd \\"x\\"\\nnext"} 1',
    );
    expect(parsePromText(out).get(base.name)?.samples[0]?.labels).toEqual({
      cluster: 'a"b',
      member: 'm\\1',
      instance: '[::1]:2379',
      path: 'C:\\etcd "x"\nnext',
    });
    expect(promtoolCheckMetrics(out).status).toBe(0);
  });

  it('copies label text as the member wrote it, escapes included, and it still parses back', () => {
    // Hand-written exposition (etcd's own label values never need escaping).
    const member = parsePromText(
      '# HELP x_info Test.\n# TYPE x_info gauge\nx_info{path="C:\\\\data \\"q\\"\\nz",empty=""} 1\nx_info 2\n',
    );
    const out = renderReexposed(
      [{ cluster: 'c', member: 'm', instance: 'h:2379', metrics: member }],
      [/^x_/],
      new Set(),
    );
    expect(out).toContain(
      'x_info{cluster="c",member="m",instance="h:2379",path="C:\\\\data \\"q\\"\\nz",empty=""} 1\n',
    );
    expect(out).toContain('x_info{cluster="c",member="m",instance="h:2379"} 2\n');
    expect(
      parsePromText(out)
        .get('x_info')
        ?.samples.map((x) => x.labels),
    ).toEqual([
      { cluster: 'c', member: 'm', instance: 'h:2379', path: 'C:\\data "q"\nz', empty: '' },
      { cluster: 'c', member: 'm', instance: 'h:2379' },
    ]);
    expect(promtoolCheckMetrics(out)).toEqual({ status: 0, output: '' });
  });

  // A member line may carry labels we set (a relabelling proxy in front of etcd, a hostile member):
  // ours win on both paths — lines copied as text (MetricsText) and samples rendered (a plain Map).
  describe.each([
    ['lines copied as text', (t: string): ParsedMetrics => new MetricsText(t)],
    ['parsed samples', (t: string): ParsedMetrics => new Map(parsePromText(t))],
  ])('a member series with its own cluster, member or instance label gets ours instead (%s)', (_, parse) => {
    it.each([
      ['instance only', 'y{instance="10.0.0.9:9100",zone="a"} 1'],
      ['instance first', 'y{instance="x",cluster="other",member="self",zone="a"} 1'],
      ['instance last', 'y{member="self",cluster="other",zone="a",instance="x"} 1'],
      ['empty instance', 'y{zone="a",instance=""} 1'],
      ['escapes in the spoofed value', 'y{instance="a\\"b\\\\c\\nd",zone="a"} 1'],
      ['cluster and member only', 'y{member="self",cluster="other",zone="a"} 1'],
      // A label whose name only ends in `instance` is the member's own and stays.
      ['a label named like ours', 'y{zone="a",db_instance="x",instance="y"} 1'],
    ])('%s', (_case, line) => {
      const out = renderReexposed(
        [
          {
            cluster: 'c',
            member: 'm',
            instance: '127.0.0.1:2379',
            metrics: parse(`# TYPE y gauge\n${line}\n`),
          },
        ],
        [/^y$/],
        new Set(),
      );
      const labels = parsePromText(out).get('y')?.samples[0]?.labels ?? {};
      expect(labels['cluster']).toBe('c');
      expect(labels['member']).toBe('m');
      expect(labels['instance']).toBe('127.0.0.1:2379');
      expect(labels['zone']).toBe('a');
      if (line.includes('db_instance')) expect(labels['db_instance']).toBe('x');
      expect(Object.keys(labels)).toHaveLength(line.includes('db_instance') ? 5 : 4);
      expect(out.match(/instance="/g)?.length).toBe(line.includes('db_instance') ? 2 : 1);
      expect(promtoolCheckMetrics(out)).toEqual({ status: 0, output: '' });
    });
  });

  it('two clusters rendered apart and assembled: each family once, all samples under it', () => {
    const east = renderFamilyChunks([SOURCES[0] as ReexposeSource], ALLOW, OWN);
    const west = renderFamilyChunks(
      [
        {
          cluster: 'prod-west',
          member: 'fixtures-0',
          instance: '127.0.0.1:22379',
          metrics: fixtureMetrics('follower-metrics.txt'),
        },
      ],
      ALLOW,
      OWN,
    );
    const page = assembleReexposed([east, west]);
    const reparsed = parsePromText(page);
    const fsync = reparsed.get('etcd_disk_wal_fsync_duration_seconds');
    expect(new Set(fsync?.samples.map((x) => x.labels['cluster']))).toEqual(
      new Set(['prod-east', 'prod-west']),
    );
    expect(page.match(/^# TYPE etcd_disk_wal_fsync_duration_seconds /gm)).toHaveLength(1);
    expect(promtoolCheckMetrics(page)).toEqual({ status: 0, output: '' });
  });

  it('skips families named like our own metrics', () => {
    const base = fixtureMetrics('leader-metrics.txt').get('etcd_server_has_leader') as MetricFamily;
    const out = renderReexposed(
      [{ cluster: 'a', member: 'm', instance: 'h:2379', metrics: new Map([[base.name, base]]) }],
      ALLOW,
      new Set([base.name]),
    );
    expect(out).toBe('');
  });
});

describe('exposedType', () => {
  it.each([
    // etcd exports raft indexes as gauges named _total: declared untyped to pass promtool's lint.
    ['etcd_server_proposals_committed_total', 'untyped'],
    ['etcd_server_proposals_applied_total', 'untyped'],
    ['etcd_server_leader_changes_seen_total', 'counter'],
    ['etcd_server_has_leader', 'gauge'],
    ['etcd_disk_wal_fsync_duration_seconds', 'histogram'],
  ])('%s is exposed as %s', (name, expected) => {
    const family = fixtureMetrics('leader-metrics.txt').get(name) as MetricFamily;
    expect(exposedType(family)).toBe(expected);
  });
});

describe('the whole /metrics page', () => {
  it('registry output for a derived cluster plus the re-exposed series passes promtool', async () => {
    const snapshot = capturedClusterSnapshot('prod-east', 1_795_441_262_015);
    const { view } = deriveCluster(INITIAL_DERIVE_STATE, snapshot, {
      maxLatencyMs: 100,
      maxDbSizeBytes: 8 * 1024 ** 3,
      minAvailableNodes: 2,
      maxLeaderChangesPerHour: 3,
    });
    const metrics = createExporterMetrics(
      () => [{ view, snapshot }],
      { warn: () => undefined },
      '0.0.0-test',
      {
        'prod-east': { region: 'eu-west-1' },
      },
    );
    metrics.probeDuration.observe({ cluster: 'prod-east', member: 'fixtures-1', operation: 'write' }, 0.004);
    metrics.probeSuccess.set({ cluster: 'prod-east', member: 'fixtures-1', operation: 'write' }, 1);
    const own = await renderAll(metrics);
    expect(own).toContain('etcd_monitor_cluster_quorum_available{cluster="prod-east"} 1');
    expect(own).toContain('etcd_monitor_cluster_failure_tolerance{cluster="prod-east"} 0');
    expect(own).toContain(
      'etcd_monitor_member_health_state{cluster="prod-east",member="fixtures-2",state="down"} 1',
    );
    expect(own).toContain('etcd_monitor_member_up{cluster="prod-east",member="fixtures-2"} 0');
    expect(own).toMatch(/etcd_monitor_cluster_partition_suspected\{cluster="prod-east",reason="[a-z_]+"\} 0/);
    const page = own + renderReexposed(SOURCES, ALLOW, OWN);
    const result = promtoolCheckMetrics(page);
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });
});
