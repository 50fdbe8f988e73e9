import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RenderedGroup } from '../../src/alerts/rules/types.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { ROOT } from './rules-support.js';

// The shipped rules against real data: a healthy 3-member etcd 3.4 cluster (default --metrics=basic),
// the exporter re-exposing its series, and Prometheus evaluating alert-rules/etcd-monitor.rules.yml.
// promtool proves the logic on synthetic series; this proves the expressions fit the real label sets
// (no many-to-many errors, every recording rule produces series, all of them carry `cluster`).

const CLUSTER = 'live';
const RULES_FILE = join(ROOT, 'alert-rules/etcd-monitor.rules.yml');
const groups = (yaml.load(readFileSync(RULES_FILE, 'utf8')) as { groups: RenderedGroup[] }).groups;
const records = groups.flatMap((g) => g.rules).flatMap((r) => ('record' in r ? [r.record] : []));

/** Alerts a healthy, idle cluster must not even have pending (latency alerts are left out: the CI box is shared). */
const STRUCTURAL = [
  'EtcdQuorumLost',
  'EtcdQuorumAtRisk',
  'EtcdBelowMinAvailableMembers',
  'EtcdMembersDown',
  'EtcdNoLeader',
  'EtcdSplitBrain',
  'EtcdStaleLeader',
  'EtcdClusterIdMismatch',
  'EtcdDataInconsistent',
  'EtcdPartitionSuspected',
  'EtcdMemberCountMismatch',
  'EtcdLearnerNotPromoted',
  'EtcdVersionSkew',
  'EtcdProbeFailing',
  'EtcdHighNumberOfFailedGRPCRequests',
  'EtcdNoSpaceAlarm',
  'EtcdCorruptAlarm',
  'EtcdClusterUnreachable',
  'EtcdMonitorTargetDown',
  'EtcdMonitorAbsent',
  'EtcdMonitorCollectionStale',
  'EtcdDatabaseQuotaLowSpace',
  'EtcdDatabaseHighFragmentation',
  'EtcdExcessiveDatabaseGrowth',
];

interface RuleState {
  name: string;
  health: string;
  lastError?: string;
}

let etcd: EtcdCluster;
let exporter: ExporterProcess;
let prom: RunningPrometheus;

async function ruleStates(): Promise<RuleState[]> {
  const res = await fetch(`${prom.url}/api/v1/rules`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { data: { groups: { rules: RuleState[] }[] } };
  return body.data.groups.flatMap((g) => g.rules);
}

beforeAll(async () => {
  etcd = await startCluster({ size: 3 });
  exporter = await startExporter({
    args: [
      '--endpoints',
      etcd.endpoints.join(','),
      '--cluster-name',
      CLUSTER,
      '--expected-members',
      '3',
      ...FAST_INTERVALS,
    ],
  });
  prom = await startPrometheus({
    scrapeTargets: [new URL(exporter.url).host],
    interval: '1s',
    ruleFiles: { 'etcd-monitor.rules.yml': readFileSync(RULES_FILE, 'utf8') },
  });
  await waitFor(
    async () =>
      (await prom.query(`etcd_monitor_cluster_quorum_available{cluster="${CLUSTER}"}`))[0]?.value[1] === '1',
    { timeoutMs: 90_000, intervalMs: 500, what: 'Prometheus to see the cluster with quorum' },
  );
}, 180_000);

afterAll(async () => {
  await prom?.stop();
  await exporter?.stop();
  await etcd?.destroy();
}, 60_000);

describe('shipped rules on a real cluster', () => {
  it('produce every recording rule with a cluster label (and member where the level says so)', async () => {
    const missing = new Set(records);
    await waitFor(
      async () => {
        for (const record of [...missing]) {
          if ((await prom.query(record)).length > 0) missing.delete(record);
        }
        return missing.size === 0;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 1000,
        what: `recording rules to produce series (${[...missing].join(', ')})`,
      },
    );
    for (const record of records) {
      const series = await prom.query(record);
      for (const { metric } of series) {
        expect(metric.cluster, record).toBe(CLUSTER);
        if (record.startsWith('cluster_member')) expect(metric.member, record).toMatch(/.+/);
      }
    }
    // The probe's p99 and etcd's own latency histograms have data under --metrics=basic.
    const fsync = await prom.query('cluster_member:etcd_disk_wal_fsync_duration_seconds:p99_5m');
    expect(fsync.map((s) => s.metric.member).sort()).toHaveLength(3);
    const probe = await prom.query('cluster_member_operation:etcd_monitor_probe_duration_seconds:p99_5m');
    expect(new Set(probe.map((s) => s.metric.operation))).toEqual(new Set(['read', 'write']));
    // Scraped with honor_labels: true as users are told: relayed series keep instance = each member's
    // client host:port (one per member), the exporter's own series keep the exporter's address.
    const relayed = await prom.query(`etcd_server_has_leader{cluster="${CLUSTER}"}`);
    expect(relayed.map((s) => s.metric.instance).sort()).toEqual(
      etcd.endpoints.map((e) => new URL(e).host).sort(),
    );
    expect(relayed.every((s) => s.metric.job === 'etcd-monitor' && !('exported_instance' in s.metric))).toBe(
      true,
    );
    const own = await prom.query(`etcd_monitor_cluster_quorum_available{cluster="${CLUSTER}"}`);
    expect(own.map((s) => s.metric.instance)).toEqual([new URL(exporter.url).host]);
  });

  it('evaluates every rule without errors', async () => {
    let states: RuleState[] = [];
    await waitFor(
      async () => {
        states = await ruleStates();
        return states.length > 0 && states.every((r) => r.health !== 'unknown');
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'every rule to be evaluated once' },
    );
    expect(
      states.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? r.health}`),
    ).toEqual([]);
  });

  it('stays silent on a healthy cluster except for the Watchdog', async () => {
    const alerts = await prom.alerts();
    const firing = alerts.filter((a) => a.state === 'firing').map((a) => a.labels.alertname);
    expect(firing).toEqual(['EtcdMonitorWatchdog']);
    const pending = alerts.filter(
      (a) => a.state === 'pending' && STRUCTURAL.includes(a.labels.alertname ?? ''),
    );
    expect(pending.map((a) => `${a.labels.alertname} ${JSON.stringify(a.labels)}`)).toEqual([]);
  });

  // A rolling restart, followers first and the leader last, each member down for several collection
  // rounds: nothing but the Watchdog fires, and nothing that could fire within a real restart is pending.
  it('stays silent through a rolling restart of all three members', async () => {
    const fastAlerts = new Set([
      'EtcdQuorumLost',
      'EtcdNoLeader',
      'EtcdSplitBrain',
      'EtcdStaleLeader',
      'EtcdClusterIdMismatch',
      'EtcdDataInconsistent',
      'EtcdNoSpaceAlarm',
      'EtcdCorruptAlarm',
      'EtcdHighNumberOfLeaderChanges',
    ]);
    const fired = new Set<string>();
    const pendingFast = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const a of await prom.alerts()) {
          const name = a.labels.alertname ?? '';
          if (a.state === 'firing' && name !== 'EtcdMonitorWatchdog') fired.add(name);
          if (a.state === 'pending' && fastAlerts.has(name)) pendingFast.add(name);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    try {
      const leader = await etcd.leaderIndex();
      const order = [0, 1, 2].filter((i) => i !== leader).concat(leader);
      for (const i of order) {
        await etcd.stop(i);
        await waitFor(
          async () =>
            (
              await prom.query(
                `etcd_monitor_member_up{cluster="${CLUSTER}",member="${etcd.members[i]?.name}"}`,
              )
            )[0]?.value[1] === '0',
          { timeoutMs: 30_000, intervalMs: 500, what: `Prometheus to see member ${i} down` },
        );
        await new Promise((r) => setTimeout(r, 3000));
        await etcd.restart(i);
        await etcd.waitHealthy();
        await waitFor(
          async () =>
            (await prom.query(`min(etcd_monitor_member_up{cluster="${CLUSTER}"})`))[0]?.value[1] === '1' &&
            (await prom.query(`etcd_monitor_cluster_quorum_available{cluster="${CLUSTER}"}`))[0]?.value[1] ===
              '1',
          { timeoutMs: 30_000, intervalMs: 500, what: `Prometheus to see member ${i} back` },
        );
      }
    } finally {
      watching = false;
      await watcher;
    }
    expect([...fired]).toEqual([]);
    // Short blips may show as pending; whatever is still pending after the restart would fire within a minute.
    const stillPending = (await prom.alerts()).filter(
      (a) => a.state === 'pending' && fastAlerts.has(a.labels.alertname ?? ''),
    );
    expect(stillPending.map((a) => a.labels.alertname)).toEqual([]);
    const changes = await prom.query(`etcd_monitor_cluster_leader_changes_last_hour{cluster="${CLUSTER}"}`);
    expect(Number(changes[0]?.value[1])).toBeLessThanOrEqual(3);
    console.log(
      `[rules-live] rolling restart: ${changes[0]?.value[1]} leader changes; fast alerts pending at some point: ${[...pendingFast].join(', ') || 'none'}`,
    );
  }, 150_000);

  // Last, because it stops the exporter: the target-down and absent expressions (without their `for`)
  // match real Prometheus labels once scrapes fail.
  it('names the cluster whose exporter target went down', async () => {
    const rule = groups
      .flatMap((g) => g.rules)
      .find((r) => 'alert' in r && r.alert === 'EtcdMonitorTargetDown') as { expr: string };
    await exporter.stop();
    let result: Awaited<ReturnType<RunningPrometheus['query']>> = [];
    await waitFor(
      async () => {
        result = await prom.query(rule.expr);
        return result.length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'EtcdMonitorTargetDown expression to match' },
    );
    expect(result.map((r) => r.metric.cluster)).toEqual([CLUSTER]);
    expect(result[0]?.metric.instance).toBe(new URL(exporter.url).host);
    await waitFor(async () => (await prom.query('absent(etcd_monitor_build_info)')).length === 1, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'absent(etcd_monitor_build_info) once the exporter is gone',
    });
  });
});
