import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { spawnTracked, terminate, waitFor } from '../../harness/processes.js';
import { promtool, requirePromtool } from '../alerts/rules-support.js';
import { substitute } from '../dashboards/promql.js';
import { startPrometheus, type PromAlert, type RunningPrometheus } from '../support/prometheus.js';
import {
  dashboardTargets,
  renderMixin,
  resolveLegend,
  shortenedRuleFile,
  SHIPPED,
  templateQueries,
  UPSTREAM,
  type Rendered,
  type Rule,
} from './mixin.js';

// The upstream etcd mixin (unmodified, rendered with Debian's jsonnet through
// deploy/etcd-mixin/etcd-monitor.libsonnet) against a real 3-member etcd cluster, seen by a real
// Prometheus that scrapes ONLY the exporter (honor_labels: true, job "etcd-monitor"), as a
// kube-prometheus-stack user would run it. Rendered here with scrape_interval_seconds 2 (etcdMembersDown's
// peer-failure window 8 s instead of 120 s) and every `for:` at 1 % (at least 2 s: etcdMembersDown 12 s,
// etcdNoLeader 2 s); the shipped libsonnet keeps upstream's values (first test).
// A second copy of the rules, labelled mixin_config="cluster-label-only", is rendered with upstream's
// selector (`job=~".*etcd.*"` without `cluster!=""`): it shows why the shipped selector excludes the
// exporter's `up`.

const CLUSTER = 'mixin';
const RENDER_SCRAPE_INTERVAL_S = 2;
const FOR_SCALE = 0.01;
const MIN_FOR_MS = 2000;
/** Grafana's $__rate_interval is at least 4 scrape intervals (1 s here). */
const GRAFANA_VARS = { cluster: CLUSTER, __rate_interval: '10s', __interval: '2s', __range: '10m' };
const SHIPPED_CONFIG = 'etcd-monitor';
const NAIVE_CONFIG = 'cluster-label-only';
const NAIVE_OVERRIDES = { clusterLabel: 'cluster', etcd_instance_labels: 'instance, member' };

let etcd: EtcdCluster;
let exporter: ExporterProcess;
let prom: RunningPrometheus;
let tmp: string;
let shipped: Rendered;
let testRender: Rendered;
let naiveRender: Rendered;
/** host:port of each member's client URL: the `instance` Prometheus would give a directly scraped member. */
let memberInstances: string[];
const timings: string[] = [];

const rulesOf = (r: Rendered): Rule[] => r.alerts.groups.flatMap((g) => g.rules);
const num = (v: string): number => Number(v);

/** Polls Prometheus' alerts while `during` runs; returns every alert seen (pending or firing), with when. */
async function recordAlerts(during: () => Promise<void>): Promise<Array<PromAlert & { seenAt: number }>> {
  const seen: Array<PromAlert & { seenAt: number }> = [];
  const failures: string[] = [];
  let running = true;
  const poller = (async () => {
    while (running) {
      try {
        for (const a of await prom.alerts()) seen.push({ ...a, seenAt: Date.now() });
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await poller;
  }
  // A gap in the record could hide an alert: Prometheus itself never stops in these tests.
  if (failures.length > 0) throw new Error(`GET /api/v1/alerts failed: ${failures.join('; ')}`);
  return seen;
}

const describeAlert = (a: PromAlert) =>
  `${a.labels.alertname}{${Object.entries(a.labels)
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}} ${a.state} ${a.value}`;

async function firing(name: string, config = SHIPPED_CONFIG): Promise<PromAlert[]> {
  return (await prom.alerts()).filter(
    (a) => a.labels.alertname === name && a.labels.mixin_config === config && a.state === 'firing',
  );
}

beforeAll(async () => {
  requirePromtool();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'etcd-mixin-'));
  shipped = renderMixin(SHIPPED);
  testRender = renderMixin(SHIPPED, { scrape_interval_seconds: RENDER_SCRAPE_INTERVAL_S });
  naiveRender = renderMixin(UPSTREAM, {
    ...NAIVE_OVERRIDES,
    scrape_interval_seconds: RENDER_SCRAPE_INTERVAL_S,
  });

  etcd = await startCluster({ size: 3 });
  memberInstances = etcd.members.map((m) => new URL(m.clientUrl).host).sort();
  exporter = await startExporter({
    args: ['--endpoints', etcd.endpoints.join(','), '--cluster-name', CLUSTER, ...FAST_INTERVALS],
  });
  prom = await startPrometheus({
    scrapeTargets: [new URL(exporter.url).host],
    jobName: 'etcd-monitor',
    honorLabels: true,
    interval: '1s',
    ruleFiles: {
      'etcd-mixin.rules.yml': shortenedRuleFile(testRender.alerts.groups, FOR_SCALE, MIN_FOR_MS, {
        mixin_config: SHIPPED_CONFIG,
      }),
      'etcd-mixin-naive.rules.yml': shortenedRuleFile(
        naiveRender.alerts.groups,
        FOR_SCALE,
        MIN_FOR_MS,
        { mixin_config: NAIVE_CONFIG },
        '-cluster-label-only',
      ),
    },
  });
  // Every member's relayed series, and more than one $__rate_interval of them.
  await waitFor(
    async () => (await prom.query(`etcd_server_has_leader{cluster="${CLUSTER}"} == 1`)).length === 3,
    { timeoutMs: 60_000, intervalMs: 500, what: 'Prometheus to see 3 members with a leader' },
  );
  await new Promise((resolve) => setTimeout(resolve, 12_000));
}, 150_000);

afterAll(async () => {
  if (timings.length) console.log(`[etcd-mixin] ${timings.join('\n  ')}`);
  await prom?.stop();
  await exporter?.stop();
  await etcd?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}, 60_000);

describe('the upstream etcd mixin through one exporter target', () => {
  it('renders through deploy/etcd-mixin/etcd-monitor.libsonnet with upstream durations, and promtool accepts it', () => {
    const upstream = renderMixin(UPSTREAM);
    // The shipped file changes only the three label settings: same alerts, same `for`, same windows.
    expect(rulesOf(shipped).map((r) => [r.alert, r.for])).toEqual(
      rulesOf(upstream).map((r) => [r.alert, r.for]),
    );
    const membersDown = rulesOf(shipped).find((r) => r.alert === 'etcdMembersDown');
    expect(membersDown?.expr).toContain('[120s]');
    expect(membersDown?.expr).toContain('sum without (instance, member)');
    expect(membersDown?.expr).toContain('up{job=~".*etcd.*", cluster!=""}');
    expect(membersDown?.annotations?.description).toContain('{{ $labels.cluster }}');

    for (const [name, text] of [
      // As deploy/etcd-mixin/README.md renders it: jsonnet's JSON output used as the rule file.
      ['shipped.rules.json', JSON.stringify(shipped.alerts, null, 3)],
      ['test.rules.yml', shortenedRuleFile(testRender.alerts.groups, FOR_SCALE, MIN_FOR_MS)],
    ] as const) {
      const file = path.join(tmp, name);
      writeFileSync(file, text);
      const { status, output } = promtool(['check', 'rules', file]);
      expect(status, output).toBe(0);
      expect(output).toContain(`SUCCESS: ${rulesOf(shipped).length} rules found`);
    }
  });

  it('evaluates every rule without errors', async () => {
    const groups = await waitFor(
      async () => {
        const res = await fetch(`${prom.url}/api/v1/rules`, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.json()) as {
          data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
        };
        const rules = body.data.groups.flatMap((g) => g.rules);
        return rules.length > 0 && rules.every((r) => r.health !== 'unknown') && rules;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'every rule evaluated once' },
    );
    expect(groups.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    expect(groups).toHaveLength(rulesOf(testRender).length + rulesOf(naiveRender).length);
  });

  it('answers every dashboard query with one series per member, or one per cluster where the panel sums', async () => {
    const dashboards = {
      ...testRender.dashboards,
      ...Object.fromEntries(
        Object.entries(
          renderMixin(SHIPPED, { scrape_interval_seconds: RENDER_SCRAPE_INTERVAL_S, grafana7x: true })
            .dashboards,
        ).map(([name, d]) => [`grafana7x/${name}`, d]),
      ),
    };
    // The cluster variable: label_values(etcd_server_has_leader{<selector>}, cluster).
    for (const { name, query } of templateQueries(dashboards)) {
      const m = /^label_values\((.+), *(\w+)\)$/.exec(query);
      expect(m, `${name}: ${query}`).not.toBeNull();
      const res = await fetch(
        `${prom.url}/api/v1/label/${m![2]}/values?match[]=${encodeURIComponent(m![1]!)}`,
      );
      expect(((await res.json()) as { data: string[] }).data, query).toEqual([CLUSTER]);
    }

    const targets = dashboardTargets(dashboards);
    expect(targets).toHaveLength(16 + 19);
    const check = async (): Promise<string[]> => {
      const found: string[] = [];
      for (const t of targets) {
        const expr = substitute(t.expr, GRAFANA_VARS);
        const where = `${t.dashboard} "${t.panel}" ${t.expr}`;
        if (expr.includes('$')) found.push(`${where}: a variable is left`);
        const series = await prom.query(expr);
        if (t.legendFormat.includes('{{instance}}')) {
          const instances = series.map((s) => s.metric.instance ?? '').sort();
          const legends = new Set(series.map((s) => resolveLegend(t.legendFormat, s.metric)));
          if (JSON.stringify(instances) !== JSON.stringify(memberInstances) || legends.size !== 3) {
            found.push(
              `${where}: per member, got instances ${JSON.stringify(instances)} legends ${[...legends].join(' | ')}`,
            );
          }
        } else if (series.length !== 1 || !Number.isFinite(num(series[0]!.value[1]))) {
          found.push(`${where}: per cluster, got ${JSON.stringify(series.map((s) => s.value[1]))}`);
        } else if (t.panel === 'Up' && series[0]!.value[1] !== '3') {
          found.push(`${where}: ${series[0]!.value[1]} members with a leader, not 3`);
        }
      }
      return found;
    };
    let problems: string[] = [];
    await waitFor(async () => (problems = await check()).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 1000,
      what: 'every dashboard query to answer',
    }).catch(() => undefined);
    expect(problems).toEqual([]);
    // "Active streams": 0 with no client stream open (the exporter opens none), 1 with one `etcdctl watch`.
    const streams = targets.filter((t) => /^Active streams$/i.test(t.panel));
    expect(streams).toHaveLength(4);
    const streamValues = async (service: string) =>
      Promise.all(
        streams
          .filter((t) => t.expr.includes(service))
          .map(async (t) => (await prom.query(substitute(t.expr, GRAFANA_VARS)))[0]?.value[1]),
      );
    expect(await streamValues('etcdserverpb.Watch')).toEqual(['0', '0']);
    expect(await streamValues('etcdserverpb.Lease')).toEqual(['0', '0']);
    const watch = spawnTracked('etcdctl', ['--endpoints', etcd.endpoints[0]!, 'watch', 'etcd-mixin-test'], {
      label: 'etcdctl watch',
    });
    try {
      await waitFor(async () => (await streamValues('etcdserverpb.Watch')).every((v) => v === '1'), {
        timeoutMs: 20_000,
        intervalMs: 500,
        what: 'the Active streams panel to count one open Watch',
      });
    } finally {
      await terminate(watch, 'SIGTERM');
    }
    const perMember = targets.filter((t) => t.legendFormat.includes('{{instance}}'));
    timings.push(
      `dashboard targets: ${perMember.length} per member (3 series, 3 legends), ${targets.length - perMember.length} per cluster (1 series): ` +
        [
          ...new Set(targets.filter((t) => !perMember.includes(t)).map((t) => `${t.dashboard} "${t.panel}"`)),
        ].join(', '),
    );
  });

  it('labels per-member alerts with the member and aggregates cluster alerts to one series per cluster', async () => {
    // Each rule's expression without its threshold: the label sets the alert would fire with.
    const lhs = (expr: string) =>
      expr.replace(/\s*(==|!=|>=|<=|>|<)\s*-?[0-9][0-9.e+]*(?![\w.[])/g, '').replace(/>\s*(?=etcd_)/g, '- ');
    const byAlert = new Map(rulesOf(testRender).map((r) => [r.alert, r]));
    const perMember = [
      'etcdNoLeader',
      'etcdHighNumberOfFailedGRPCRequests',
      'etcdMemberCommunicationSlow',
      'etcdHighNumberOfFailedProposals',
      'etcdHighFsyncDurations',
      'etcdHighCommitDurations',
      'etcdDatabaseQuotaLowSpace',
      'etcdExcessiveDatabaseGrowth',
      'etcdDatabaseHighFragmentationRatio',
    ];
    for (const alert of perMember) {
      const series = await prom.query(lhs(byAlert.get(alert)!.expr));
      expect([...new Set(series.map((s) => s.metric.instance))].sort(), alert).toEqual(memberInstances);
      for (const { metric } of series) expect(metric.cluster, alert).toBe(CLUSTER);
    }
    // Summed without `instance, member`: one series per cluster, as over directly scraped members.
    // (etcdMembersDown's peer-failure series exist only after a first failure: the fault test shows it.)
    // (Its inner aggregation: the whole [15m:1m] subquery needs minutes of data this Prometheus lacks.)
    const inner = /max without \([^)]*\) \([^()]*\)/.exec(byAlert.get('etcdHighNumberOfLeaderChanges')!.expr);
    expect(inner?.[0]).toContain('without (instance, member)');
    const changes = await prom.query(inner![0]);
    expect(changes.map((s) => s.metric)).toEqual([{ job: 'etcd-monitor', cluster: CLUSTER }]);
    // etcdGRPCRequestsSlow needs etcd's --metrics=extensive (grpc_server_handling_seconds): nothing to
    // relay from a default member, whether scraped directly or through the exporter.
    expect(await prom.query(lhs(byAlert.get('etcdGRPCRequestsSlow')!.expr))).toEqual([]);
    const direct = await (await fetch(`${etcd.members[0]!.metricsUrl}/metrics`)).text();
    expect(direct).not.toContain('grpc_server_handling_seconds_bucket');
    // The exporter's own `up` carries no cluster label: the shipped selector leaves it out, upstream's takes it.
    expect(await prom.query('up{job=~".*etcd.*", cluster!=""}')).toEqual([]);
    expect((await prom.query('up{job=~".*etcd.*"}')).map((s) => s.metric.instance)).toEqual([
      new URL(exporter.url).host,
    ]);
  });

  it("fires nothing when only the exporter restarts (upstream's selector fires both `up` alerts)", async () => {
    const port = exporter.port;
    const seen = await recordAlerts(async () => {
      const stoppedAt = Date.now();
      await exporter.stop();
      // Longer than every shortened `for` that could react (etcdMembersDown: 12 s).
      await waitFor(async () => (await firing('etcdMembersDown', NAIVE_CONFIG)).length > 0, {
        timeoutMs: 40_000,
        intervalMs: 500,
        what: 'upstream-selector etcdMembersDown to fire on the exporter being down',
      });
      timings.push(
        `exporter down → upstream-selector etcdMembersDown firing: ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`,
      );
      await new Promise((resolve) => setTimeout(resolve, 3000));
      exporter = await startExporter({
        port,
        args: ['--endpoints', etcd.endpoints.join(','), '--cluster-name', CLUSTER, ...FAST_INTERVALS],
      });
      await waitFor(
        async () => (await prom.query(`etcd_server_has_leader{cluster="${CLUSTER}"} == 1`)).length === 3,
        { timeoutMs: 30_000, intervalMs: 500, what: 'the restarted exporter to be scraped' },
      );
      // Past the longest shortened `for` and the 8 s peer-failure window once series are back.
      await new Promise((resolve) => setTimeout(resolve, 15_000));
    });
    expect(seen.filter((a) => a.labels.mixin_config === SHIPPED_CONFIG).map(describeAlert)).toEqual([]);
    const naive = new Set(
      seen
        .filter((a) => a.labels.mixin_config === NAIVE_CONFIG && a.state === 'firing')
        .map((a) => a.labels.alertname),
    );
    expect([...naive].sort()).toEqual(['etcdInsufficientMembers', 'etcdMembersDown']);
  }, 120_000);

  it('fires etcdMembersDown on a killed member, and etcdNoLeader with it on quorum loss; etcdInsufficientMembers never', async () => {
    const seen = await recordAlerts(async () => {
      const killedAt = Date.now();
      await etcd.kill(2);
      const down = await waitFor(async () => (await firing('etcdMembersDown')).at(0), {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'etcdMembersDown to fire for the killed member',
      });
      timings.push(
        `member killed → etcdMembersDown firing: ${((Date.now() - killedAt) / 1000).toFixed(1)} s`,
      );
      expect(down.labels).toMatchObject({ cluster: CLUSTER, job: 'etcd-monitor', severity: 'warning' });
      expect(down.labels.instance).toBeUndefined();
      expect(num(down.value)).toBe(1);
      expect(await firing('etcdMembersDown')).toHaveLength(1); // one per cluster, not one per reporting member

      const lostAt = Date.now();
      await etcd.stop(1);
      const noLeader = await waitFor(async () => (await firing('etcdNoLeader')).at(0), {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'etcdNoLeader to fire on quorum loss',
      });
      timings.push(`quorum lost → etcdNoLeader firing: ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);
      expect(noLeader.labels).toMatchObject({
        cluster: CLUSTER,
        instance: new URL(etcd.members[0]!.clientUrl).host,
      });
      expect(noLeader.annotations.description).toContain(
        `member ${new URL(etcd.members[0]!.clientUrl).host} has no leader`,
      );
      await waitFor(async () => (await firing('etcdMembersDown')).find((a) => num(a.value) === 2), {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'etcdMembersDown to count 2 members down',
      });
      timings.push(`quorum lost → etcdMembersDown (2): ${((Date.now() - lostAt) / 1000).toFixed(1)} s`);
      // Longer than etcdInsufficientMembers' shortened `for` (2 s).
      await new Promise((resolve) => setTimeout(resolve, 5000));
    });
    // Built on `up` (one target, the exporter's, up all along): inert with the shipped selector, and
    // blind to quorum loss with upstream's.
    expect(seen.filter((a) => a.labels.alertname === 'etcdInsufficientMembers').map(describeAlert)).toEqual(
      [],
    );
  }, 150_000);
});
