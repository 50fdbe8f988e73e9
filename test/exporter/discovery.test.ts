import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenderedGroup } from '../../src/alerts/rules/types.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { joinMember } from '../support/etcd-join.js';
import { FAST_INTERVALS, findSample, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { startTcpBalancer, type TcpBalancer } from '../support/tcp-balancer.js';

// The configured endpoints are seeds; the member list defines the cluster. Before, one endpoint of a
// healthy 3-member cluster (or a load-balancer address in front of all three) was reported as quorum
// lost (1 of 3 healthy) and the shipped rules paged with EtcdQuorumLost and EtcdBelowMinAvailableMembers.

const ROOT = process.cwd();
const SILENCE_MS = 120_000;

/** The shipped rules with every `for` cut to 5 s, so anything that would page shows within the window. */
function rulesWithShortFor(): string {
  const doc = yaml.load(readFileSync(join(ROOT, 'alert-rules/etcd-monitor.rules.yml'), 'utf8')) as {
    groups: RenderedGroup[];
  };
  for (const group of doc.groups) {
    for (const rule of group.rules as { for?: string }[]) if (rule.for !== undefined) rule.for = '5s';
  }
  return yaml.dump(doc, { lineWidth: -1 });
}

/** Member names of the `etcd_monitor_member_up` series of one cluster, with their values. */
function membersUp(text: string, cluster: string): Record<string, number> {
  const up: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^etcd_monitor_member_up\{([^}]*)\} (\S+)/.exec(line);
    if (!match || !(match[1] as string).includes(`cluster="${cluster}"`)) continue;
    const member = /member="([^"]*)"/.exec(match[1] as string)?.[1] as string;
    up[member] = Number(match[2]);
  }
  return up;
}

let etcd: EtcdCluster;
let balancer: TcpBalancer;
let seedExporter: ExporterProcess;
let lbExporter: ExporterProcess;
let prom: RunningPrometheus;

beforeAll(async () => {
  etcd = await startCluster({ size: 3 });
  balancer = await startTcpBalancer(etcd.endpoints);
  // One-second rounds as in the other fault tests, with a 2 s deadline: the CI machine is shared.
  const common = [
    ...FAST_INTERVALS.filter(
      (_, i, all) => all[i] !== '--request-timeout' && all[i - 1] !== '--request-timeout',
    ),
    '--request-timeout',
    '2s',
    '--expected-members',
    '3',
  ];
  [seedExporter, lbExporter] = await Promise.all([
    startExporter({
      args: ['--endpoints', etcd.endpoints[1] as string, '--cluster-name', 'seed', ...common],
    }),
    startExporter({ args: ['--endpoints', balancer.url, '--cluster-name', 'lb', ...common] }),
  ]);
}, 120_000);

afterAll(async () => {
  await prom?.stop();
  await Promise.all([seedExporter?.stop(), lbExporter?.stop()]);
  await balancer?.close();
  await etcd?.destroy();
}, 60_000);

describe('members come from the member list, not from the endpoint list', () => {
  it('one seed endpoint and a load-balancer address each watch all three members, quorum available, tolerance 1', async () => {
    for (const [exporter, cluster] of [
      [seedExporter, 'seed'],
      [lbExporter, 'lb'],
    ] as const) {
      const text = await waitFor(
        async () => {
          const t = await exporter.metricsText();
          return Object.keys(membersUp(t, cluster)).length === 3 &&
            findSample(t, 'etcd_monitor_cluster_quorum_available', { cluster }) === 1
            ? t
            : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 500, what: `${cluster}: three members watched` },
      );
      expect(membersUp(text, cluster)).toEqual(Object.fromEntries(etcd.members.map((m) => [m.name, 1])));
      expect(findSample(text, 'etcd_monitor_cluster_members_healthy', { cluster })).toBe(3);
      expect(findSample(text, 'etcd_monitor_cluster_failure_tolerance', { cluster })).toBe(1);
      expect(findSample(text, 'etcd_monitor_cluster_below_min_available', { cluster })).toBe(0);
      // The members are asked at their own advertised URLs; the load balancer is not a member.
      const { body } = await exporter.json<{ members: { endpoint: string }[] }>('/api/v1/cluster/members');
      expect(body.members.map((m) => m.endpoint).sort()).toEqual([...etcd.endpoints].sort());
    }
  });

  it(
    'the shipped rules (every `for` cut to 5 s) stay silent for two minutes, Watchdog aside',
    async () => {
      prom = await startPrometheus({
        scrapeTargets: [new URL(seedExporter.url).host, new URL(lbExporter.url).host],
        interval: '1s',
        ruleFiles: { 'etcd-monitor.rules.yml': rulesWithShortFor() },
      });
      await waitFor(
        async () => (await prom.query('etcd_monitor_cluster_quorum_available == 1')).length === 2,
        { timeoutMs: 60_000, intervalMs: 500, what: 'Prometheus to see both clusters with quorum' },
      );
      // Rules evaluated before the first scrape (EtcdMonitorAbsent) stay pending until the next evaluation.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const seen = new Map<string, string>();
      const until = Date.now() + SILENCE_MS;
      while (Date.now() < until) {
        for (const alert of await prom.alerts()) {
          const name = alert.labels.alertname ?? '';
          // Latency and load alerts are left out: the CI machine is shared and may be slow for real (etcd
          // counts a heartbeat send failure whenever its peer stream's buffer is full).
          if (name === 'EtcdMonitorWatchdog' || /Latency|Slow|Fsync|Commit|RoundTrip|Heartbeat/.test(name))
            continue;
          seen.set(
            `${name}{cluster=${alert.labels.cluster},member=${alert.labels.member ?? ''}}`,
            alert.state,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      expect([...seen]).toEqual([]);
      const firing = (await prom.alerts()).filter((a) => a.state === 'firing').map((a) => a.labels.alertname);
      expect(firing).toContain('EtcdMonitorWatchdog');
    },
    SILENCE_MS + 120_000,
  );

  it('follows a learner added, promoted and removed while running; the removed member’s series disappear', async () => {
    const cluster = 'seed';
    const roles = async () => {
      const text = await seedExporter.metricsText();
      return {
        text,
        voters: findSample(text, 'etcd_monitor_cluster_members', { cluster, role: 'voting' }),
        learners: findSample(text, 'etcd_monitor_cluster_members', { cluster, role: 'learner' }),
      };
    };
    const learner = await joinMember(etcd, 'joined-3');
    try {
      const added = await waitFor(
        async () => {
          const r = await roles();
          return r.learners === 1 && membersUp(r.text, cluster)['joined-3'] === 1 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the learner to be watched and up' },
      );
      expect(added.voters).toBe(3);
      // Learners never vote: quorum is still 2 of 3.
      expect(findSample(added.text, 'etcd_monitor_cluster_quorum_size', { cluster })).toBe(2);

      await learner.promote();
      const promoted = await waitFor(
        async () => {
          const r = await roles();
          return r.voters === 4 && r.learners === 0 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the promoted member to count as a voter' },
      );
      expect(findSample(promoted.text, 'etcd_monitor_cluster_quorum_size', { cluster })).toBe(3);
      expect(findSample(promoted.text, 'etcd_monitor_cluster_quorum_available', { cluster })).toBe(1);
      expect(Object.keys(membersUp(promoted.text, cluster)).sort()).toHaveLength(4);

      await learner.remove();
      const removed = await waitFor(
        async () => {
          const r = await roles();
          return r.voters === 3 && !r.text.includes('member="joined-3"') ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the removed member’s series to disappear' },
      );
      expect(Object.keys(membersUp(removed.text, cluster)).sort()).toEqual(
        etcd.members.map((m) => m.name).sort(),
      );
      expect(findSample(removed.text, 'etcd_monitor_cluster_quorum_available', { cluster })).toBe(1);
      expect(findSample(removed.text, 'etcd_monitor_cluster_failure_tolerance', { cluster })).toBe(1);
    } finally {
      if (learner.proc.running) await learner.remove().catch(() => undefined);
    }
  }, 120_000);
});

describe('--discover-members=false keeps the old behaviour', () => {
  it('watches only the endpoint given and names the members it does not watch at start-up', async () => {
    const exporter = await startExporter({
      args: [
        '--endpoints',
        etcd.endpoints[0] as string,
        '--cluster-name',
        'nodisco',
        '--discover-members=false',
        ...FAST_INTERVALS,
      ],
    });
    try {
      const text = await waitFor(
        async () => {
          const t = await exporter.metricsText();
          return Object.keys(membersUp(t, 'nodisco')).length > 0 ? t : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 500, what: 'the one endpoint to be watched' },
      );
      expect(Object.keys(membersUp(text, 'nodisco'))).toEqual([etcd.members[0]?.name]);
      await waitFor(() => exporter.proc.output().includes('--discover-members=false'), {
        timeoutMs: 10_000,
        what: 'the start-up warning',
      });
      const warning = exporter.proc
        .output()
        .split('\n')
        .find((line) => line.includes('--discover-members=false')) as string;
      expect(JSON.parse(warning).unwatched.sort()).toEqual(
        [etcd.members[1]?.name, etcd.members[2]?.name].sort(),
      );
    } finally {
      await exporter.stop();
    }
  });
});
