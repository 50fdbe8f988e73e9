import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { expressions, loadDashboards } from './dashboard-files.js';
import { substitute } from './promql.js';
import { localPrometheusConfig, startLocalPrometheus, type LocalPrometheus } from './stack.js';

// Two etcd clusters behind one exporter and one Prometheus: the all-clusters table must have exactly one
// row per cluster from every query, and the single-cluster dashboards must show nothing of the other one.

const NAMES = ['alpha', 'beta'] as const;
const RANGE_VARS = { __rate_interval: '10s', __interval: '2s', __range: '10m' };
let clusters: EtcdCluster[];
let exporter: ExporterProcess;
let prom: LocalPrometheus;
let dir: string;
let promStartedAt: number;
const dashboards = loadDashboards();
const dashboard = (uid: string) => {
  const d = dashboards.get(`${uid}.json`);
  if (!d) throw new Error(`no dashboard ${uid}`);
  return d;
};

beforeAll(async () => {
  // Two members each: the HashKV comparison needs at least two.
  clusters = await Promise.all(NAMES.map((name) => startCluster({ size: 2, name })));
  dir = mkdtempSync(path.join(os.tmpdir(), 'dash-multi-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    yaml.dump({
      health_check_interval: '1s',
      metrics_interval: '1s',
      hashkv_interval: '2s',
      clusters: NAMES.map((name, i) => ({
        name,
        endpoints: clusters[i]!.endpoints,
        tags: { env: `env-${name}` },
      })),
    }),
  );
  exporter = await startExporter({ args: ['--config', file] });
  promStartedAt = Math.floor(Date.now() / 1000);
  prom = await startLocalPrometheus(
    localPrometheusConfig({ 'exporter:8080': `127.0.0.1:${exporter.port}` }, 'unused'),
  );
  await waitFor(
    async () => {
      // A range query, as the panels run: its last step can lie up to 2 s before now, where an instant
      // query at now may already see two samples but the step does not.
      const probes = await prom.queryRange(
        'sum by (cluster) (rate(etcd_monitor_probe_duration_seconds_count[10s])) > 0',
        promStartedAt,
        2,
      );
      return probes.length === NAMES.length;
    },
    { timeoutMs: 60_000, intervalMs: 1000, what: 'probe rates of both clusters in Prometheus' },
  );
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  await exporter?.stop();
  await Promise.all((clusters ?? []).map((c) => c.destroy()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dashboards with two clusters', () => {
  it('the all-clusters table gets exactly one row per cluster from every query', async () => {
    const d = dashboard('etcd-multi-cluster');
    // Grafana renders a multi-value selection as a regex alternation, and "All" (the default) as .*
    // (which also matches the always-firing watchdog's cluster="all").
    await waitFor(async () => (await prom.query('ALERTS{alertname="EtcdMonitorWatchdog"}')).length > 0, {
      timeoutMs: 20_000,
      intervalMs: 500,
      what: 'the watchdog alert to fire',
    });
    const vars = { ...RANGE_VARS, cluster: `(${NAMES.join('|')})` };
    const table = d.panels.find((p) => p.type === 'table');
    expect(table?.targets?.length).toBeGreaterThan(5);
    for (const cluster of [vars.cluster, '.*']) {
      for (const t of table?.targets ?? []) {
        const rows = await prom.query(substitute(t.expr, { ...vars, cluster }));
        expect(rows.map((r) => r.metric.cluster).sort(), `${cluster} ${t.refId}: ${t.expr}`).toEqual([
          ...NAMES,
        ]);
      }
    }
    const tags =
      d.panels.find((p) => p.type === 'table' && p.title === 'Cluster tags')?.targets?.[0]?.expr ?? '';
    const tagRows = await prom.query(substitute(tags, vars));
    expect(tagRows.map((r) => `${r.metric.cluster}:${r.metric.env}`).sort()).toEqual(
      NAMES.map((n) => `${n}:env-${n}`),
    );
    for (const p of d.panels.filter((x) => x.type === 'timeseries')) {
      for (const t of p.targets ?? []) {
        const series = await prom.queryRange(substitute(t.expr, vars), promStartedAt, 2);
        expect(series.map((s) => s.metric.cluster).sort(), `${p.title}: ${t.expr}`).toEqual([...NAMES]);
      }
    }
  });

  it('single-cluster dashboards show only the chosen cluster', async () => {
    let checked = 0;
    for (const uid of ['etcd-cluster-overview', 'etcd-member-detail', 'etcd-monitor-self']) {
      for (const { where, expr } of expressions(dashboard(uid))) {
        const result = await prom.query(substitute(expr, { ...RANGE_VARS, cluster: 'beta', member: '.*' }));
        const foreign = result.filter((r) => r.metric.cluster !== undefined && r.metric.cluster !== 'beta');
        expect(foreign, where).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(80);
  });
});
