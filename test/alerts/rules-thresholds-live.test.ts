import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRules } from '../../src/alerts/rules/render.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';

// The thresholds reach alerting without re-rendering the rules: a real etcd member whose database is a few MiB,
// the real exporter watching it as two clusters ("low" takes --max-db-size-mb, "high" its own
// clusters[].max_db_size_mb from the YAML file), and a real Prometheus evaluating the shipped rules rendered
// once (only `for` shortened, as every live alert test does). Then the exporter restarts on the same port with
// the values swapped, and the alert follows — the rules file is never touched.

const execFileAsync = promisify(execFile);
const ETCDCTL_BIN = process.env.ETCDCTL_BIN ?? 'etcdctl';
const MIB = 1024 * 1024;
const ALERT = 'EtcdDatabaseSizeAboveLimit';
const FOR_MS = 3000;

let etcd: EtcdCluster;
let exporter: ExporterProcess | undefined;
let prom: RunningPrometheus;
let dir: string;
let rulesText: string;
let port: number;
/** Size of the member's database file after the fill, in bytes, and a limit just below it in MiB. */
let dbSize: number;
let below: number;
const timings: string[] = [];

async function etcdctl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(ETCDCTL_BIN, ['--endpoints', etcd.endpoints.join(','), ...args]);
  return stdout;
}

/** Writes the exporter's config file: both clusters are the one real etcd member. */
function configFile(name: string, highMb: number): string {
  const file = join(dir, name);
  const cluster = (clusterName: string) => ({
    name: clusterName,
    endpoints: etcd.endpoints,
    // One member: a floor of one healthy voter (the rendered default 2 would page for both clusters).
    min_available_nodes: 1,
  });
  writeFileSync(
    file,
    yaml.dump({ clusters: [cluster('low'), { ...cluster('high'), max_db_size_mb: highMb }] }),
  );
  return file;
}

async function runExporter(flagMb: number, highMb: number, config: string): Promise<ExporterProcess> {
  return startExporter({
    port,
    args: [
      '--config',
      configFile(config, highMb),
      '--max-db-size-mb',
      String(flagMb),
      '--hashkv-interval',
      'off',
      ...FAST_INTERVALS,
    ],
  });
}

/** The state of the DB-size alert per cluster in Prometheus right now ('inactive' when absent). */
async function alertState(): Promise<Record<string, string>> {
  const states: Record<string, string> = { low: 'inactive', high: 'inactive' };
  for (const a of await prom.alerts()) {
    if (a.labels.alertname === ALERT && a.labels.cluster) states[a.labels.cluster] = a.state;
  }
  return states;
}

/** Waits for Prometheus' alert states to be `want`; notes how long it took from `since`. */
async function waitForStates(want: Record<string, string>, since: number, what: string): Promise<void> {
  let seen: Record<string, string> = {};
  await waitFor(
    async () => {
      seen = await alertState();
      return Object.entries(want).every(([cluster, state]) => seen[cluster] === state);
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${what} (last seen ${JSON.stringify(seen)})` },
  );
  timings.push(`${what.padEnd(60)} ${((Date.now() - since) / 1000).toFixed(1)} s`);
}

/** The threshold series Prometheus scraped, per cluster, in MiB. */
async function scrapedLimitsMb(): Promise<Record<string, number>> {
  const series = await prom.query('etcd_monitor_threshold_max_db_size_bytes');
  return Object.fromEntries(series.map((s) => [s.metric.cluster, Number(s.value[1]) / MIB]));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-thresholds-'));
  etcd = await startCluster({ size: 1 });
  // A few MiB of our own keys in the test's own cluster, so a whole-MiB limit can sit just below the file size.
  const value = 'x'.repeat(100_000);
  for (let i = 0; i < 30; i++) await etcdctl(['put', `/thresholds-test/${i}`, value]);
  const status = JSON.parse(await etcdctl(['endpoint', 'status', '-w', 'json'])) as {
    Status: { dbSize: number };
  }[];
  dbSize = Number(status[0]?.Status.dbSize);
  below = Math.ceil(dbSize / MIB) - 1;
  expect(below).toBeGreaterThanOrEqual(1);

  rulesText = renderRules({ forOverrideMs: FOR_MS }).rulesYaml;
  port = await freePort();
  exporter = await runExporter(below, below + 64, 'phase-1.yaml');
  prom = await startPrometheus({
    scrapeTargets: [`127.0.0.1:${port}`],
    interval: '1s',
    ruleFiles: { 'etcd-monitor.rules.yml': rulesText },
  });
}, 180_000);

afterAll(async () => {
  if (timings.length) console.log(`[rules-thresholds-live] DB ${dbSize} bytes:\n  ${timings.join('\n  ')}`);
  await prom?.stop();
  await exporter?.stop();
  await etcd?.destroy();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('DB-size alert follows the exporter thresholds without re-rendering the rules', () => {
  it("the exporter's series and etcd agree on the DB size, and the limits are exposed per cluster", async () => {
    await waitFor(async () => Object.keys(await scrapedLimitsMb()).length === 2, {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'Prometheus to scrape both clusters’ threshold series',
    });
    expect(await scrapedLimitsMb()).toEqual({ low: below, high: below + 64 });
    const size = await prom.query('max by (cluster) (etcd_monitor_member_db_size_bytes)');
    for (const s of size) expect(Number(s.value[1])).toBeGreaterThan(below * MIB);
    expect(size.map((s) => s.metric.cluster).sort()).toEqual(['high', 'low']);
  });

  it('--max-db-size-mb just below the DB fires for the cluster that uses it; a higher clusters[] value does not', async () => {
    const since = Date.now();
    await waitForStates({ low: 'firing' }, since, `flag ${below} MiB: "low" firing`);
    // "high" shares the member and the rules: only its own series keeps it quiet, for several evaluations.
    for (let i = 0; i < 5; i++) {
      expect((await alertState()).high).toBe('inactive');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const firing = (await prom.alerts()).filter((a) => a.labels.alertname === ALERT);
    expect(firing.map((a) => a.labels.member)).toHaveLength(1);
    // The per-cluster floor of one member keeps the single-member clusters out of EtcdBelowMinAvailableMembers.
    const below2 = (await prom.alerts()).filter((a) => a.labels.alertname === 'EtcdBelowMinAvailableMembers');
    expect(below2).toEqual([]);
  });

  // Prometheus keeps the rules it loaded; only the exporter restarts (same port, same target), with the flag
  // raised above the DB and "high"'s own value lowered below it.
  it('after a restart with the values swapped, the alert moves to the other cluster', async () => {
    await exporter?.stop();
    exporter = undefined;
    exporter = await runExporter(below + 64, below, 'phase-2.yaml');
    const ready = Date.now();
    await waitFor(async () => (await scrapedLimitsMb()).low === below + 64, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'Prometheus to scrape the new limits',
    });
    const scraped = Date.now();
    timings.push(`restarted exporter ready → new limits scraped ${((scraped - ready) / 1000).toFixed(1)} s`);
    await waitForStates({ low: 'inactive' }, scraped, 'new limits scraped → "low" inactive');
    // From here "low" must stay inactive, while "high" goes pending and fires under its own lowered value, and
    // for as long again afterwards: under the old flag "low" would have fired within that time.
    const lowStates = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        lowStates.add((await alertState()).low ?? 'inactive');
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await waitForStates({ high: 'firing' }, scraped, 'new limits scraped → "high" firing');
      await new Promise((r) => setTimeout(r, Math.max(FOR_MS + 2000, Date.now() - scraped)));
    } finally {
      watching = false;
      await watcher;
    }
    expect([...lowStates]).toEqual(['inactive']);
    expect(await alertState()).toEqual({ low: 'inactive', high: 'firing' });
    expect(await scrapedLimitsMb()).toEqual({ low: below + 64, high: below });
    // The same rules all along: the file Prometheus loaded is the one rendered before the first exporter.
    expect(readFileSync(join(prom.dir, 'etcd-monitor.rules.yml'), 'utf8')).toBe(rulesText);
  }, 120_000);
});
