import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import { createExporterMetrics } from '../../src/expose/registry.js';
import { registerHistoryMetrics } from '../../src/history/history-metrics.js';
import { BenchmarkMetrics } from '../../src/loadgen/metrics.js';
import { registerConnectionMetrics } from '../../src/server/connection-limit.js';
import { ETCD_FIXTURE_VERSIONS, FIXTURE_DIR, fixtureMetrics } from '../etcd/fixtures.js';

/** Every /metrics capture of a real etcd member (the same files exist for etcd 3.4 and 3.5). */
const CAPTURES = ['', 'load', 'nospace', 'no-leader'].flatMap((dir) =>
  readdirSync(path.join(FIXTURE_DIR, dir))
    .filter((f) => f.endsWith('.txt'))
    .map((f) => (dir ? `${dir}/${f}` : f)),
);
const etcdFamilies = new Set(
  ETCD_FIXTURE_VERSIONS.flatMap((version) =>
    CAPTURES.flatMap((file) => [...fixtureMetrics(file, version).keys()]),
  ),
);

const quiet = { warn: () => undefined };
const exporterMetrics = createExporterMetrics(() => [], quiet, '0.0.0-test', { main: { env: 'test' } });

interface Exported {
  readonly name: string;
  readonly help: string;
  readonly type: string;
}

const fromTable: Exported[] = ALL_METRICS.map((d) => ({ name: d.name, help: d.help, type: d.type }));
/** Both registries: the derived one rendered after rounds and the runtime one rendered per scrape. */
const fromRegistry = async (): Promise<Exported[]> =>
  [
    ...(await exporterMetrics.registry.getMetricsAsJSON()),
    ...(await exporterMetrics.runtime.getMetricsAsJSON()),
  ].map((m) => ({ name: m.name, help: m.help, type: String(m.type) }));

describe('exported metric names', () => {
  it('the captures cover both members and every capture kind', () => {
    expect(CAPTURES).toEqual(expect.arrayContaining(['leader-metrics.txt', 'follower-metrics.txt']));
    expect(CAPTURES.length).toBeGreaterThanOrEqual(12);
    expect(etcdFamilies.size).toBeGreaterThan(120);
  });

  it('the registries hold every metric of the table plus the probe, build and runtime metrics', async () => {
    const names = new Set((await fromRegistry()).map((m) => m.name));
    for (const def of ALL_METRICS) expect(names.has(def.name), def.name).toBe(true);
    for (const name of [
      'etcd_monitor_probe_duration_seconds',
      'etcd_monitor_probe_success',
      'etcd_monitor_build_info',
      'etcd_monitor_process_cpu_seconds_total',
    ])
      expect(names.has(name), name).toBe(true);
  });

  it('names in the table are unique', () => {
    expect(new Set(fromTable.map((m) => m.name)).size).toBe(fromTable.length);
  });

  it('no exported name collides with a family etcd itself exports', async () => {
    const all = [...fromTable, ...(await fromRegistry())];
    const collisions = all.filter((m) => etcdFamilies.has(m.name)).map((m) => m.name);
    expect(collisions).toEqual([]);
    // Nor with the _bucket/_sum/_count/_total forms of either side.
    const suffixed = (n: string) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`, `${n}_total`];
    const etcdSamples = new Set([...etcdFamilies].flatMap(suffixed));
    expect(all.flatMap((m) => suffixed(m.name)).filter((n) => etcdSamples.has(n))).toEqual([]);
  });

  it.each(fromTable.map((m) => [m.name, m] as const))('%s follows the naming rules', (_, m) => {
    expect(m.name).toMatch(/^etcd_monitor_[a-z0-9_]+$/);
    expect(m.help.trim().length).toBeGreaterThan(10);
    if (m.type === 'counter') expect(m.name).toMatch(/_total$/);
    else expect(m.name).not.toMatch(/_total$/);
    // Base units only (Prometheus naming): no milliseconds, kilobytes or percentages.
    expect(m.name).not.toMatch(/_(milliseconds|ms|kilobytes|megabytes|percent)(_|$)/);
  });

  it('every registry metric (incl. prom-client process metrics) follows the naming rules', async () => {
    for (const m of await fromRegistry()) {
      expect(m.name, m.name).toMatch(/^etcd_monitor_[a-z0-9_]+$/);
      expect(m.help.trim(), m.name).not.toBe('');
      if (m.type === 'counter') expect(m.name, m.name).toMatch(/_total$/);
      else expect(m.name, `${m.name} (${m.type})`).not.toMatch(/_total$/);
    }
  });

  it('labels of table metrics are valid and never reserved', () => {
    for (const def of ALL_METRICS) {
      for (const label of def.labels) {
        expect(label, def.name).toMatch(/^[a-z_][a-z0-9_]*$/);
        expect(['le', 'quantile', 'job', 'instance'], def.name).not.toContain(label);
      }
      expect(def.labels[0], def.name).toBe('cluster');
    }
  });
});

// Where names are defined. src/expose/metric-table.ts holds every name and HELP of the exporter's
// /metrics except the series in DEFINED_ELSEWHERE; this block keeps that sentence (the table's header
// comment) true: a name defined in any other file, or twice, fails here.
const SRC = path.resolve(import.meta.dirname, '../../src');
const TABLE = 'src/expose/metric-table.ts';

/** Files outside the table allowed to define metric names, with the names and why they live there. */
const DEFINED_ELSEWHERE: Readonly<Record<string, readonly string[]>> = {
  // The load generator's sidecar: a separate process with its own /metrics, never the exporter's.
  'src/loadgen/metrics.ts': [
    'etcd_monitor_benchmark_request_duration_seconds',
    'etcd_monitor_benchmark_last_run_latency_seconds',
    'etcd_monitor_benchmark_throughput_ops_per_second',
    'etcd_monitor_benchmark_requests_total',
    'etcd_monitor_benchmark_errors_total',
    'etcd_monitor_benchmark_slo_passed',
    'etcd_monitor_benchmark_slo_target',
    'etcd_monitor_benchmark_last_run_timestamp_seconds',
    'etcd_monitor_benchmark_last_run_duration_seconds',
    'etcd_monitor_benchmark_runs_total',
    'etcd_monitor_benchmark_client_cpu_seconds_per_operation',
    'etcd_monitor_benchmark_disk_fdatasync_seconds',
    'etcd_monitor_benchmark_disk_check_passed',
    'etcd_monitor_benchmark_disk_check_last_run_timestamp_seconds',
  ],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : name.endsWith('.ts') ? [p] : [];
  });
}

/** A metric definition in source: `name: 'etcd_monitor_…'`, or a constructor's first argument (the sidecar's summaries). */
const DEFINITION = /(?:\bname:\s*|\bnew \w+\(\s*)'(etcd_monitor_[a-z0-9_]+)'/g;
const definitions = sourceFiles(SRC).flatMap((file) =>
  [...readFileSync(file, 'utf8').matchAll(DEFINITION)].map((m) => ({
    file: path.relative(path.dirname(SRC), file),
    name: m[1] as string,
  })),
);
const definedIn = (file: string) => definitions.filter((d) => d.file === file).map((d) => d.name);

/** Everything the exporter's /metrics can hold under its own prefix: every registration `serve` makes. */
async function exporterNames(): Promise<string[]> {
  const m = createExporterMetrics(() => [], quiet, '0.0.0-test', { main: { env: 'test' } });
  registerHistoryMetrics(
    m.runtime,
    () => [],
    () => ({ firing: 0, expiredTotal: 0, droppedOverCapacityTotal: 0, ignoredWatchdogTotal: 0 }),
  );
  registerConnectionMetrics(m.runtime, {
    open: 0,
    dropped: { evicted_idle: 0, over_limit: 0, no_request: 0 },
  });
  const json = [...(await m.registry.getMetricsAsJSON()), ...(await m.runtime.getMetricsAsJSON())];
  return json.map((x) => x.name);
}

/** prom-client's process and Node.js runtime series under the exporter's prefix (named by prom-client). */
async function promClientNames(): Promise<Set<string>> {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'etcd_monitor_' });
  return new Set((await r.getMetricsAsJSON()).map((x) => x.name));
}

describe('where metric names are defined', () => {
  it('the source scan finds the table and every file allowed to define names', () => {
    expect(definedIn(TABLE).length).toBeGreaterThan(ALL_METRICS.length);
    for (const file of Object.keys(DEFINED_ELSEWHERE))
      expect(definedIn(file).length, file).toBeGreaterThan(0);
  });

  it('no file outside the table defines a name, except those listed with their reason', () => {
    const files = [...new Set(definitions.map((d) => d.file))].sort();
    expect(files).toEqual([TABLE, ...Object.keys(DEFINED_ELSEWHERE)].sort());
    for (const [file, names] of Object.entries(DEFINED_ELSEWHERE)) {
      expect([...definedIn(file)].sort(), file).toEqual([...names].sort());
    }
  });

  it('no name is defined twice anywhere in src/', () => {
    const names = definitions.map((d) => d.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it("every name on the exporter's /metrics is defined once: in the table or by prom-client", async () => {
    const exposed = await exporterNames();
    const promClient = await promClientNames();
    const own = exposed.filter((n) => !promClient.has(n));
    expect(new Set(exposed).size).toBe(exposed.length);
    expect(own.length).toBeGreaterThan(ALL_METRICS.length);
    const defined = new Set(definedIn(TABLE));
    expect(own.filter((n) => !defined.has(n))).toEqual([]);
    // And the other way: every name the table defines is served (no stale entry).
    expect([...defined].filter((n) => !exposed.includes(n))).toEqual([]);
  });

  it("the load generator's sidecar serves exactly its own names, none of them the exporter's", async () => {
    const sidecar = (await new BenchmarkMetrics().registry.getMetricsAsJSON()).map((x) => x.name);
    expect([...sidecar].sort()).toEqual([...definedIn('src/loadgen/metrics.ts')].sort());
    const exporter = new Set(await exporterNames());
    expect(sidecar.filter((n) => exporter.has(n))).toEqual([]);
  });
});
