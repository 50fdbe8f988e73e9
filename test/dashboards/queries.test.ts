import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS } from '../../scripts/dashboards/index.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { waitFor } from '../../harness/processes.js';
import { expressions, loadDashboards, type DashboardJson } from './dashboard-files.js';
import { substitute } from './promql.js';
import {
  localPrometheusConfig,
  startBenchSidecar,
  startLocalPrometheus,
  type BenchSidecar,
  type LocalPrometheus,
} from './stack.js';

// Real etcd (3 members) + the exporter + the benchmark sidecar (one short round) + real Prometheus with
// the shipped prometheus.yml and alert rules; then every panel and annotation query of every dashboard,
// with its variables substituted, goes through Prometheus' query API.

const CLUSTER = 'dash-test';
// Grafana's $__rate_interval is at least 4 scrape intervals; 2 s scrapes here.
const RANGE_VARS = { __rate_interval: '10s', __interval: '2s', __range: '10m' };

let cluster: EtcdCluster;
let exporter: ExporterProcess;
let bench: BenchSidecar;
let prom: LocalPrometheus;
let tmp: string;
let promStartedAt: number;
const dashboards = loadDashboards();

/** Why a query may be empty on a healthy cluster, from the dashboard specs; keyed by uid and expression. */
const allowedEmpty = new Map<string, string>();
for (const spec of DASHBOARDS) {
  for (const row of spec.rows) {
    for (const panel of row.panels) {
      for (const t of panel.targets)
        if (t.emptyWhenHealthy) allowedEmpty.set(`${spec.uid}\n${t.expr}`, t.emptyWhenHealthy);
    }
  }
  for (const a of spec.annotations ?? []) allowedEmpty.set(`${spec.uid}\n${a.expr}`, a.emptyWhenHealthy);
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'dash-queries-'));
  cluster = await startCluster({ size: 3 });
  exporter = await startExporter({
    args: [
      '--endpoints',
      cluster.endpoints.join(','),
      '--cluster-name',
      CLUSTER,
      '--expected-members',
      '3',
      '--metrics-interval',
      '1s',
      '--health-check-interval',
      '1s',
      '--hashkv-interval',
      '2s',
    ],
  });
  // Prometheus first, so it scrapes the benchmark histogram while the round runs, not only afterwards.
  const benchPort = await freePort();
  const config = localPrometheusConfig(
    { 'exporter:8080': `127.0.0.1:${exporter.port}`, 'bench:9101': `127.0.0.1:${benchPort}` },
    CLUSTER,
  );
  promStartedAt = Math.floor(Date.now() / 1000);
  prom = await startLocalPrometheus(config);
  bench = await startBenchSidecar(cluster.endpoints, tmp, benchPort);
  // Two complete rounds: a workload's latency histogram first appears already filled by its first run, so
  // only the second run shows up as an increase (what the "during runs" panel charts). Then the sidecar
  // stops so its load does not skew the rest; Prometheus keeps what it scraped for the range queries.
  await waitFor(
    async () => {
      const runs = await prom.query(
        `etcd_monitor_benchmark_runs_total{cluster="${CLUSTER}", result="completed"} >= 2`,
      );
      const disk = await prom.query(`etcd_monitor_benchmark_disk_check_passed{cluster="${CLUSTER}"}`);
      return runs.length === 3 && disk.length === 1;
    },
    { timeoutMs: 100_000, intervalMs: 1000, what: 'two benchmark rounds and a disk check to be scraped' },
  );
  await bench.stop();
}, 150_000);

afterAll(async () => {
  await prom?.stop();
  await bench?.stop();
  await exporter?.stop();
  await cluster?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Outcome {
  where: string;
  /** The expression as written in the dashboard, and as sent (variables substituted). */
  raw: string;
  expr: string;
  error?: string;
  /** Sample values: the instant vector, or every point of every series of the range. */
  values: number[];
}

/**
 * Runs every query of a dashboard the way Grafana would (panel targets marked instant as instant queries,
 * the rest as range queries over the data so far), retrying unusable ones until the deadline.
 */
async function runAll(d: DashboardJson, vars: Record<string, string>, deadline: number): Promise<Outcome[]> {
  const instant = new Set(
    d.panels.flatMap((p) => (p.targets ?? []).filter((t) => t.instant).map((t) => t.expr)),
  );
  let pending = expressions(d).map(({ where, expr }) => ({ where, raw: expr }));
  const done: Outcome[] = [];
  for (;;) {
    const retry: typeof pending = [];
    for (const q of pending) {
      const expr = substitute(q.raw, { ...RANGE_VARS, ...vars });
      try {
        const values = instant.has(q.raw)
          ? (await prom.query(expr)).map((r) => Number(r.value[1]))
          : (await prom.queryRange(expr, promStartedAt, 2)).flatMap((r) => r.values.map((v) => Number(v[1])));
        const usable = values.some((v) => !Number.isNaN(v));
        if (usable || allowedEmpty.has(`${d.uid}\n${q.raw}`) || Date.now() > deadline) {
          done.push({ ...q, expr, values });
        } else retry.push(q);
      } catch (err) {
        done.push({ ...q, expr, values: [], error: (err as Error).message });
      }
    }
    if (retry.length === 0) return done;
    pending = retry;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

describe('every dashboard query returns data from real etcd, exporter, benchmark and Prometheus', () => {
  it('every variable query lists the cluster and its members', async () => {
    const expected: Record<string, string[]> = {
      cluster: [CLUSTER],
      member: cluster.members.map((m) => m.name).sort(),
    };
    let checked = 0;
    for (const d of dashboards.values()) {
      for (const v of d.templating.list.filter((x) => x.type === 'query')) {
        // Grafana runs label_values(selector, label) as a series lookup; group by gives the same values.
        const m = /^label_values\((.+),\s*(\w+)\)$/.exec(v.definition ?? '');
        expect(m, `${d.uid} $${v.name}: ${v.definition}`).not.toBeNull();
        const expr = `group by (${m![2]}) (${substitute(m![1]!, { cluster: CLUSTER })})`;
        const values = (await prom.query(expr)).map((r) => r.metric[m![2]!] ?? '').sort();
        expect(values, `${d.uid} $${v.name}`).toEqual(expected[v.name]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(7);
  });

  it.each([...dashboards])(
    '%s',
    async (_file, d) => {
      const member = cluster.members[0]!.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const passes: Array<Record<string, string>> = [{ cluster: CLUSTER, member: '.*' }];
      // With one member chosen, exporter-derived and re-exposed etcd series must agree on its name.
      if (d.templating.list.some((v) => v.name === 'member')) passes.push({ cluster: CLUSTER, member });
      const failures: string[] = [];
      for (const vars of passes) {
        // Generous: etcd observes peer round trips only every 30 s, so that panel may need a while.
        const outcomes = await runAll(d, vars, Date.now() + 45_000);
        expect(outcomes.length).toBe(expressions(d).length);
        for (const o of outcomes) {
          const reason = allowedEmpty.get(`${d.uid}\n${o.raw}`);
          const values = o.values;
          if (o.error) failures.push(`${o.where} [member=${vars.member}]: ${o.error}\n    ${o.expr}`);
          else if (!values.some((v) => !Number.isNaN(v)) && !reason) {
            failures.push(
              `${o.where} [member=${vars.member}]: ${values.length === 0 ? 'empty' : 'only NaN'}\n    ${o.expr}`,
            );
          }
        }
      }
      expect(failures).toEqual([]);
    },
    120_000,
  );

  // Last, because it stops the exporter.
  it('once the exporter stops, its target shows as down and the data age keeps counting', async () => {
    const d = dashboards.get('etcd-monitor-self.json')!;
    const panel = d.panels.find((p) => p.title === 'Scrape up');
    const expr = substitute(panel?.targets?.[0]?.expr ?? '', {
      ...RANGE_VARS,
      cluster: CLUSTER,
      member: '.*',
    });
    expect(expr).toContain('up ');
    await exporter.stop();
    const down = await waitFor(
      async () => {
        const result = await prom.query(expr);
        return result.length > 0 && result.every((r) => r.value[1] === '0') ? result : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'up = 0 for the stopped exporter' },
    );
    expect(down.map((r) => r.metric.job)).toEqual(['etcd-monitor']);
    // The data age keeps counting instead of going blank.
    const overview = dashboards.get('etcd-cluster-overview.json')!;
    const age = overview.panels.find((p) => p.title === 'Data age')?.targets?.[0]?.expr ?? '';
    const ages = await prom.query(substitute(age, { cluster: CLUSTER }));
    expect(ages.length).toBe(1);
    expect(Number(ages[0]!.value[1])).toBeGreaterThan(0);
  });
});
