import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import { createExporterMetrics } from '../../src/expose/registry.js';
import { FIXTURE_DIR, fixtureMetrics } from '../etcd/fixtures.js';

/** Every /metrics capture of a real etcd member. */
const CAPTURES = ['', 'load', 'nospace', 'no-leader'].flatMap((dir) =>
  readdirSync(path.join(FIXTURE_DIR, dir))
    .filter((f) => f.endsWith('.txt'))
    .map((f) => (dir ? `${dir}/${f}` : f)),
);
const etcdFamilies = new Set(CAPTURES.flatMap((file) => [...fixtureMetrics(file).keys()]));

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
