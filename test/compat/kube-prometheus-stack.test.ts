import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRules } from '../../src/alerts/rules/render.js';
import { DASHBOARDS } from '../../scripts/dashboards/index.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { expressions, loadDashboards, PROMETHEUS_SERIES } from '../dashboards/dashboard-files.js';
import { selectors, substitute } from '../dashboards/promql.js';
import { startLocalPrometheus, type LocalPrometheus } from '../dashboards/stack.js';
import {
  activeAlerts,
  readmeSection,
  readmeValues,
  ruleStates,
  stackEtcdRules,
  stackPrometheusConfig,
  targetHealth,
  type ApiAlert,
  type OperatorRelabeling,
} from './kube-prometheus-stack-support.js';

// The exporter next to kube-prometheus-stack's own etcd scraping ("mode B" of the README section "Next to
// kube-prometheus-stack"): a real 3-member etcd cluster, the exporter with --reexpose=false (derived
// etcd_monitor_* series only), and two real Prometheus servers, each scraping the exporter and every member's
// /metrics directly as the stack's kube-etcd ServiceMonitor does (job="kube-etcd", instance=<address>:<metrics
// port>, namespace/service/pod/endpoint target labels), both evaluating this project's shipped rules:
//   plain    — the stack as installed: no relabeling, and the stack's own etcd alerts left on;
//   relabeled — the README's values: kubeEtcd.serviceMonitor.relabelings adding cluster and member, the
//               stack's etcd alerts off (defaultRules.rules.etcd: false).

const INTERVAL = '2s';
// Every `for` scaled to 1 % (EtcdMembersDown 10m -> 6s), as test/alerts/e2e-alerting.test.ts does.
const FOR_SCALE = 0.01;
const STACK_FOR = '4s';
// Grafana's $__rate_interval is at least 4 scrape intervals.
const RANGE_VARS = { __rate_interval: '10s', __interval: '2s', __range: '10m' };
/** Alerts about latency, which a shared 2-core CI machine can trip on its own; logged, never asserted. */
const LATENCY = /Fsync|Commit|Latency|CommunicationSlow|GRPCRequestsSlow|MemberSlow/i;

const values = readmeValues();
const relabeled = values.find((v) => v.kubeEtcd?.serviceMonitor?.relabelings);
const relabelings: OperatorRelabeling[] = relabeled?.kubeEtcd?.serviceMonitor?.relabelings ?? [];
/** The cluster name the README's relabeling writes; the exporter's --cluster-name must equal it. */
const CLUSTER = relabelings.find((r) => r.targetLabel === 'cluster')?.replacement ?? '';

let etcd: EtcdCluster;
let exporter: ExporterProcess;
let plain: LocalPrometheus;
let relabel: LocalPrometheus;
let tmp: string;
let startedAt: number;

const dashboards = [...loadDashboards()].filter(([file]) => file !== 'etcd-benchmark.json');
const allowedEmpty = new Map<string, string>();
for (const spec of DASHBOARDS) {
  for (const row of spec.rows) {
    for (const panel of row.panels)
      for (const t of panel.targets)
        if (t.emptyWhenHealthy) allowedEmpty.set(`${spec.uid}\n${t.expr}`, t.emptyWhenHealthy);
  }
  for (const a of spec.annotations ?? []) allowedEmpty.set(`${spec.uid}\n${a.expr}`, a.emptyWhenHealthy);
}

/** `etcd` when the series is a member's own (or a recording rule over one), `derived` otherwise. */
function origin(metric: string): 'etcd' | 'derived' | 'unknown' {
  if (metric === '') return 'unknown';
  const base = metric.includes(':') ? (metric.split(':')[1] ?? '') : metric;
  return base.startsWith('etcd_monitor_') || PROMETHEUS_SERIES.has(metric) ? 'derived' : 'etcd';
}

async function settle(prom: LocalPrometheus): Promise<void> {
  await waitFor(
    async () => {
      const rules = await ruleStates(prom.url);
      return rules.length > 0 && rules.every((r) => r.health !== 'unknown');
    },
    { timeoutMs: 30_000, intervalMs: 500, what: 'every rule to be evaluated once' },
  );
}

async function ruleErrors(prom: LocalPrometheus): Promise<string[]> {
  return (await ruleStates(prom.url))
    .filter((r) => r.health !== 'ok')
    .map((r) => `${r.name}: ${r.lastError ?? r.health}`);
}

const firing = async (prom: LocalPrometheus): Promise<ApiAlert[]> =>
  (await activeAlerts(prom.url)).filter((a) => a.state === 'firing');

/** Labels a scrape target adds; an alert that differs from another only in these is one alert per job. */
const TARGET_LABELS = new Set(['job', 'instance', 'namespace', 'service', 'pod', 'endpoint']);

/** A firing alert's identity without its target labels: the same key twice is a duplicate from two jobs. */
const keyOf = (a: ApiAlert): string =>
  Object.entries(a.labels)
    .filter(([k]) => !TARGET_LABELS.has(k))
    .sort(([x], [y]) => x.localeCompare(y))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

beforeAll(async () => {
  expect(CLUSTER, 'README: kubeEtcd.serviceMonitor.relabelings sets a cluster').toMatch(/^[a-z0-9-]+$/);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'kps-compat-'));
  const ours = path.join(tmp, 'etcd-monitor.rules.yml');
  writeFileSync(ours, renderRules({ forScale: FOR_SCALE }).rulesYaml);
  const stack = path.join(tmp, 'stack-etcd.rules.yml');
  writeFileSync(stack, stackEtcdRules(STACK_FOR));

  etcd = await startCluster({ size: 3 });
  exporter = await startExporter({
    args: [
      '--endpoints',
      etcd.endpoints.join(','),
      '--cluster-name',
      CLUSTER,
      '--expected-members',
      '3',
      '--reexpose=false',
      ...FAST_INTERVALS,
    ],
  });
  const members = etcd.members.map((m) => ({ address: new URL(m.metricsUrl).host, name: m.name }));
  const common = { exporter: `127.0.0.1:${exporter.port}`, members, interval: INTERVAL };
  startedAt = Math.floor(Date.now() / 1000);
  [plain, relabel] = await Promise.all([
    startLocalPrometheus(stackPrometheusConfig({ ...common, relabelings: [], ruleFiles: [ours, stack] })),
    startLocalPrometheus(
      stackPrometheusConfig({
        ...common,
        relabelings,
        // The documented values turn the stack's etcd alerts off; the test honours what they say.
        ruleFiles: relabeled?.defaultRules?.rules?.etcd === false ? [ours] : [ours, stack],
      }),
    ),
  ]);
  for (const prom of [plain, relabel]) {
    await waitFor(
      async () =>
        (await prom.query(`etcd_monitor_cluster_quorum_available{cluster="${CLUSTER}"}`))[0]?.value[1] ===
          '1' &&
        (await targetHealth(prom.url)).filter((t) => t.job === 'kube-etcd' && t.health === 'up').length === 3,
      { timeoutMs: 60_000, intervalMs: 500, what: 'Prometheus to scrape the exporter and all 3 members' },
    );
  }
}, 150_000);

afterAll(async () => {
  await plain?.stop();
  await relabel?.stop();
  await exporter?.stop();
  await etcd?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe('next to kube-prometheus-stack: --reexpose=false and the stack scraping etcd directly', () => {
  it("the README gives both modes' values.yaml", () => {
    expect(values.some((v) => v.defaultRules?.rules?.etcd === false && v.kubeEtcd?.enabled === false)).toBe(
      true,
    );
    expect(relabeled?.defaultRules?.rules?.etcd).toBe(false);
    expect(relabelings.map((r) => r.targetLabel).sort()).toEqual(['cluster', 'member']);
  });

  it('the exporter serves only derived series, so every etcd series is stored once, from kube-etcd', async () => {
    const text = await exporter.metricsText();
    const relayed = text
      .split('\n')
      .filter((l) => /^(etcd_(server|disk|network|mvcc|debugging)_|grpc_server_)/.test(l));
    expect(relayed).toEqual([]);
    expect(text).toMatch(/^etcd_monitor_member_up\{/m);
    for (const prom of [plain, relabel]) {
      const leaders = await prom.query('count by (job, instance) (etcd_server_has_leader)');
      expect(leaders.map((r) => r.metric.job)).toEqual(['kube-etcd', 'kube-etcd', 'kube-etcd']);
    }
    const perMember = await relabel.query('count by (cluster, member) (etcd_server_has_leader)');
    expect(perMember.map((r) => `${r.metric.cluster}/${r.metric.member}=${r.value[1]}`).sort()).toEqual(
      etcd.members.map((m) => `${CLUSTER}/${m.name}=1`).sort(),
    );
  });

  it('every rule evaluates without errors in both setups', async () => {
    await settle(plain);
    await settle(relabel);
    expect(await ruleErrors(plain)).toEqual([]);
    expect(await ruleErrors(relabel)).toEqual([]);
  });

  it('with the relabeling, the recording rules on etcd series give one series per member', async () => {
    const names = etcd.members.map((m) => m.name).sort();
    const perMember = [
      'cluster_member:etcd_disk_wal_fsync_duration_seconds:p99_5m',
      'cluster_member:etcd_disk_backend_commit_duration_seconds:p99_5m',
      'cluster_member_method:grpc_server_unary_handled:rate5m',
      'cluster_member_to:etcd_network_peer_round_trip_time_seconds:slow_ratio_5m',
    ];
    for (const record of perMember) {
      const members = await waitFor(
        async () => {
          const series = await relabel.query(`${record}{cluster="${CLUSTER}"}`);
          const seen = [...new Set(series.map((s) => s.metric.member ?? ''))].sort();
          return seen.length === 3 ? seen : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 1000, what: `${record} for all 3 members` },
      );
      expect(members, record).toEqual(names);
    }
    const fsync = await relabel.query('cluster_member:etcd_disk_wal_fsync_duration_seconds:p99_5m');
    expect(fsync.filter((s) => !Number.isNaN(Number(s.value[1])))).toHaveLength(3);
    // Without it the same rules add the members up into series without cluster or member.
    const merged = await plain.query('cluster_member:etcd_disk_wal_fsync_duration_seconds:p99_5m');
    expect(merged.map(({ metric: { __name__: _, ...labels } }) => labels)).toEqual([{}]);
    for (const record of perMember) {
      const series = await plain.query(record);
      expect(series.length, record).toBeGreaterThan(0);
      expect(
        series.filter((s) => s.metric.cluster !== undefined || s.metric.member !== undefined),
        record,
      ).toEqual([]);
    }
  }, 120_000);

  it('with the relabeling every dashboard query has data; without it those on etcd series have none', async () => {
    const vars = { ...RANGE_VARS, cluster: CLUSTER, member: '.*' };
    const run = async (prom: LocalPrometheus, expr: string, instant: boolean): Promise<boolean> => {
      const values = instant
        ? (await prom.query(expr)).map((r) => Number(r.value[1]))
        : (await prom.queryRange(expr, startedAt, 2)).flatMap((r) => r.values.map((v) => Number(v[1])));
      return values.some((v) => !Number.isNaN(v));
    };
    const missing: string[] = [];
    const lostWithout: string[] = [];
    const keptWithout: string[] = [];
    const noReexpose: string[] = [];
    let total = 0;
    for (const [, d] of dashboards) {
      const instant = new Set(
        d.panels.flatMap((p) => (p.targets ?? []).filter((t) => t.instant).map((t) => t.expr)),
      );
      for (const { where, expr: raw } of expressions(d)) {
        total++;
        const expr = substitute(raw, vars);
        const isInstant = instant.has(raw);
        const origins = new Set(selectors(raw).map((s) => origin(s.metric)));
        // Nothing is re-exposed, so the panel on re-exposure bounds has nothing to show.
        if (selectors(raw).some((s) => s.metric === 'etcd_monitor_reexpose_dropped')) {
          expect(await run(relabel, expr, isInstant), where).toBe(false);
          noReexpose.push(where);
          continue;
        }
        const allowed = allowedEmpty.has(`${d.uid}\n${raw}`);
        // Generous: etcd observes peer round trips only every 30 s.
        const deadline = Date.now() + 45_000;
        let hasData = await run(relabel, expr, isInstant);
        while (!hasData && !allowed && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 2000));
          hasData = await run(relabel, expr, isInstant);
        }
        if (!hasData && !allowed) missing.push(`${where}\n    ${expr}`);
        const withoutData = await run(plain, expr, isInstant);
        if (origins.size === 1 && origins.has('etcd') && withoutData) keptWithout.push(where);
        if (origins.size === 1 && origins.has('derived') && !withoutData && !allowed) {
          missing.push(`${where} (plain setup)\n    ${expr}`);
        }
        if (hasData && !withoutData) lostWithout.push(where);
      }
    }
    expect(missing).toEqual([]);
    expect(keptWithout).toEqual([]);
    expect(lostWithout.length).toBeGreaterThan(0);
    expect(noReexpose).toEqual(['etcd-monitor-self / Members over --reexpose-max-series / A']);
    // The README states these counts; it must change when the dashboards do.
    const claim = /(\d+) of the (\d+) dashboard\s+queries/.exec(readmeSection());
    expect(claim?.slice(1, 3).map(Number), 'README: "<lost> of the <total> dashboard queries"').toEqual([
      lostWithout.length,
      total,
    ]);
    console.log(
      `[kube-prometheus-stack] ${total} dashboard queries (benchmark dashboard left out): all have data with the relabeling; ` +
        `${lostWithout.length} have none without it:\n  ${lostWithout.join('\n  ')}`,
    );
  }, 200_000);

  it('stays silent while the cluster is healthy', async () => {
    for (const prom of [plain, relabel]) {
      const names = (await firing(prom)).map((a) => a.labels.alertname ?? '');
      const latency = names.filter((n) => LATENCY.test(n));
      if (latency.length > 0)
        console.log(`[kube-prometheus-stack] latency alerts on this machine: ${latency.join(', ')}`);
      expect(names.filter((n) => !LATENCY.test(n))).toEqual(['EtcdMonitorWatchdog']);
    }
  });

  it('a killed member fires EtcdMembersDown once per member in both setups, not once per job', async () => {
    const leader = await etcd.leaderIndex();
    const victim = [0, 1, 2].find((i) => i !== leader)!;
    const name = etcd.members[victim]!.name;
    await etcd.kill(victim);
    const seen = new Map<LocalPrometheus, ApiAlert[]>();
    for (const prom of [plain, relabel]) {
      const alerts = await waitFor(
        async () => {
          const now = await firing(prom);
          return now.some((a) => a.labels.alertname === 'EtcdMembersDown') ? now : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 500, what: 'EtcdMembersDown to fire' },
      );
      seen.set(prom, alerts);
      const ours = alerts.filter((a) => /^Etcd/.test(a.labels.alertname ?? ''));
      expect(ours.filter((a) => a.labels.alertname === 'EtcdMembersDown').map((a) => a.labels)).toEqual([
        expect.objectContaining({ cluster: CLUSTER, member: name }),
      ]);
      const keys = ours.map(keyOf);
      expect(keys.length, keys.join(', ')).toBe(new Set(keys).size);
      // None of this project's alerts come from the directly scraped job.
      expect(ours.filter((a) => a.labels.job === 'kube-etcd').map(keyOf)).toEqual([]);
      expect(await ruleErrors(prom)).toEqual([]);
    }
    // The stack's own etcdMembersDown fires next to it for the same member: a near-duplicate page, the
    // reason the README turns the stack's etcd alerts off.
    const stackDown = await waitFor(
      async () => (await firing(plain)).find((a) => a.labels.alertname === 'etcdMembersDown'),
      { timeoutMs: 30_000, intervalMs: 500, what: "the stack's etcdMembersDown" },
    );
    expect(stackDown.labels.job).toBe('kube-etcd');
    console.log(
      `[kube-prometheus-stack] member ${name} killed; firing (plain): ${(seen.get(plain) ?? []).map(keyOf).join(', ')}`,
    );
    await etcd.restart(victim);
    await etcd.waitHealthy();
    for (const prom of [plain, relabel]) {
      await waitFor(
        async () =>
          (await prom.query(`min(etcd_monitor_member_up{cluster="${CLUSTER}"})`))[0]?.value[1] === '1' &&
          (await targetHealth(prom.url)).filter((t) => t.job === 'kube-etcd' && t.health === 'up').length ===
            3,
        { timeoutMs: 60_000, intervalMs: 500, what: 'the member back in the exporter and in kube-etcd' },
      );
    }
  }, 180_000);

  // Last, because it stops the exporter.
  it("with the stack's etcd alerts on, the exporter's own job trips them when only the exporter is down", async () => {
    await exporter.stop();
    const STACK_PAGES = ['etcdInsufficientMembers', 'etcdMembersDown'];
    const alerts = await waitFor(
      async () => {
        const now = await firing(plain);
        const fromExporterJob = now
          .filter((a) => a.labels.job === 'etcd-monitor')
          .map((a) => a.labels.alertname);
        return STACK_PAGES.every((n) => fromExporterJob.includes(n)) &&
          now.some((a) => a.labels.alertname === 'EtcdMonitorTargetDown')
          ? now
          : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: "the stack's etcd alerts on the exporter's job, and EtcdMonitorTargetDown",
      },
    );
    // etcd itself is healthy: every kube-etcd target is up (a scrape may time out on a loaded machine).
    await etcd.waitHealthy();
    await waitFor(
      async () =>
        (await targetHealth(plain.url)).filter((t) => t.job === 'kube-etcd' && t.health === 'up').length ===
        3,
      { timeoutMs: 30_000, intervalMs: 500, what: 'every kube-etcd target up' },
    );
    const stackFalse = alerts.filter(
      (a) => a.labels.job === 'etcd-monitor' && /^etcd[A-Z]/.test(a.labels.alertname ?? ''),
    );
    expect(stackFalse.map((a) => a.labels.alertname)).toEqual(expect.arrayContaining(STACK_PAGES));
    console.log(
      `[kube-prometheus-stack] exporter stopped; stack alerts firing on its job: ${stackFalse.map((a) => a.labels.alertname).join(', ')}`,
    );
    // The documented setup has only this project's alert for it.
    const documented = await waitFor(
      async () => {
        const now = await firing(relabel);
        return now.some((a) => a.labels.alertname === 'EtcdMonitorTargetDown') ? now : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'EtcdMonitorTargetDown with the documented values' },
    );
    expect(documented.filter((a) => /^etcd[A-Z]/.test(a.labels.alertname ?? ''))).toEqual([]);
  }, 120_000);
});
