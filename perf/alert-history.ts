/**
 * Alert-history benchmark (not a test). Runs the real exporter (`node <shipped GC flags> --import tsx src/cli.ts`,
 * no etcd: the webhook works without one) with its history on the local disk and measures:
 *   load     --notifications POSTs of --alerts distinct firing alerts each (the issue: 30 × 10,000): time per
 *            POST and the exporter's RSS (VmRSS) after each;
 *   typical  --typical POSTs of one alert each (a new alert firing, then its resolve), made on top of the full
 *            firing set the load left: time per notification, the issue's target being under 10 ms;
 *   reads    the size and time of GET /api/v1/alerts (default page and ?limit=1000) and the history file size;
 *   restart  start-up time and RSS after a restart on that file.
 * Times are client round trips over loopback (HTTP included), on a shared 2-core machine: read the medians.
 * Run: npx tsx perf/alert-history.ts [--label after] [--root DIR] [--notifications 30] [--alerts 10000]
 *      [--typical 200]
 * --root runs another checkout's exporter (e.g. `git archive <commit> | tar -x -C DIR`, node_modules linked)
 * for a before/after comparison. Merges its run into perf/results/alert-history.json under --label and
 * rewrites perf/results/alert-history.md with every label side by side. Stops every process it started.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadNotification, postWebhook, rssBytes } from '../harness/alert-notifications.js';
import { SHIPPED_NODE_FLAGS } from '../harness/exporter.js';
import { freePort } from '../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../harness/processes.js';

const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: 'after' },
    root: { type: 'string', default: path.resolve(import.meta.dirname, '..') },
    notifications: { type: 'string', default: '30' },
    alerts: { type: 'string', default: '10000' },
    typical: { type: 'string', default: '200' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'alert-history') },
  },
});
const MiB = 1024 * 1024;
const log = (msg: string) => process.stdout.write(`${msg}\n`);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
const summary = (ms: readonly number[]) => ({
  count: ms.length,
  p50Ms: round(quantile(ms, 0.5)),
  p95Ms: round(quantile(ms, 0.95)),
  p99Ms: round(quantile(ms, 0.99)),
  maxMs: round(Math.max(...ms)),
});

interface Run {
  readonly label: string;
  readonly commit: string;
  readonly at: string;
  readonly machine: string;
  readonly load: ReturnType<typeof summary> & {
    readonly alertsPerNotification: number;
    readonly bodyMiB: number;
    readonly statuses: Record<string, number>;
  };
  readonly rssMiB: {
    readonly idle: number;
    readonly peak: number;
    readonly end: number;
    readonly afterRestart: number;
  };
  readonly typical: ReturnType<typeof summary>;
  readonly reads: {
    readonly alertsDefaultBytes: number;
    readonly alertsLimit1000Bytes: number;
    readonly alertsDefaultMs: number;
    readonly historyFileMiB: number;
  };
  readonly restartMs: number;
}

async function startExporter(root: string, dataDir: string, port: number): Promise<TrackedProcess> {
  const proc = spawnTracked(
    process.execPath,
    [
      ...SHIPPED_NODE_FLAGS,
      '--import',
      'tsx',
      path.join(root, 'src/cli.ts'),
      '--endpoints',
      `http://127.0.0.1:${await freePort()}`,
      '--cluster-name',
      'bench',
      '--api-host',
      '127.0.0.1',
      '--api-port',
      String(port),
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
    ],
    { label: 'etcd-monitor', cwd: root },
  );
  await waitFor(
    async () => {
      if (!proc.running) throw new Error(`exporter exited:\n${proc.output()}`);
      return (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.status === 200;
    },
    { what: 'exporter /health', timeoutMs: 120_000, intervalMs: 100 },
  );
  return proc;
}

async function getBytes(url: string): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
  const bytes = (await res.arrayBuffer()).byteLength;
  return { bytes, ms: performance.now() - started };
}

function oneAlert(i: number, status: 'firing' | 'resolved'): string {
  return JSON.stringify({
    version: '4',
    groupKey: `{}/{}:{alertname="EtcdTypical", cluster="bench"}`,
    status,
    receiver: 'etcd-monitor-history',
    groupLabels: { alertname: 'EtcdTypical', cluster: 'bench' },
    commonLabels: { alertname: 'EtcdTypical', cluster: 'bench', severity: 'warning' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    truncatedAlerts: 0,
    alerts: [
      {
        status,
        labels: { alertname: 'EtcdTypical', cluster: 'bench', member: `t${i}`, severity: 'warning' },
        annotations: { summary: `typical alert ${i}` },
        startsAt: '2026-12-01T00:00:00Z',
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-12-01T00:05:00Z',
        generatorURL: '',
        fingerprint: `typical${i}`,
      },
    ],
  });
}

async function measure(): Promise<Run> {
  const root = path.resolve(args.root);
  const notifications = Number(args.notifications);
  const alerts = Number(args.alerts);
  const typicalCount = Number(args.typical);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'alert-history-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let proc = await startExporter(root, dataDir, port);
  try {
    const idle = rssBytes(proc.pid);
    let peak = idle;
    const loadMs: number[] = [];
    const statuses: Record<string, number> = {};
    let bodyBytes = 0;
    for (let batch = 0; batch < notifications; batch++) {
      const body = loadNotification(batch, alerts);
      bodyBytes = body.length;
      const res = await postWebhook(base, body);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      loadMs.push(res.ms);
      peak = Math.max(peak, rssBytes(proc.pid));
      log(
        `load ${batch + 1}/${notifications}: ${res.status} ${round(res.ms)} ms, RSS ${round(rssBytes(proc.pid) / MiB)} MiB`,
      );
    }
    const typicalMs: number[] = [];
    for (let i = 0; i < typicalCount; i++) {
      const res = await postWebhook(base, oneAlert(Math.floor(i / 2), i % 2 === 0 ? 'firing' : 'resolved'));
      if (res.status !== 200) throw new Error(`typical notification answered ${res.status}`);
      typicalMs.push(res.ms);
      peak = Math.max(peak, rssBytes(proc.pid));
    }
    log(`typical: p50 ${round(quantile(typicalMs, 0.5))} ms, p99 ${round(quantile(typicalMs, 0.99))} ms`);
    const page = await getBytes(`${base}/api/v1/alerts`);
    const biggest = await getBytes(`${base}/api/v1/alerts?limit=1000`);
    const file = await stat(path.join(dataDir, 'alert-history.jsonl'));
    const end = rssBytes(proc.pid);
    await terminate(proc, 'SIGTERM', 30_000);
    const restartStarted = performance.now();
    proc = await startExporter(root, dataDir, port);
    const restartMs = performance.now() - restartStarted;
    await getBytes(`${base}/api/v1/alerts?limit=1`);
    const afterRestart = rssBytes(proc.pid);
    return {
      label: args.label,
      commit: readCommit(root),
      at: new Date().toISOString(),
      machine: `${os.cpus().length} cores, load ${os
        .loadavg()
        .map((l) => round(l))
        .join('/')}`,
      load: {
        ...summary(loadMs),
        alertsPerNotification: alerts,
        bodyMiB: round(bodyBytes / MiB, 2),
        statuses,
      },
      rssMiB: {
        idle: round(idle / MiB),
        peak: round(peak / MiB),
        end: round(end / MiB),
        afterRestart: round(afterRestart / MiB),
      },
      typical: summary(typicalMs),
      reads: {
        alertsDefaultBytes: page.bytes,
        alertsLimit1000Bytes: biggest.bytes,
        alertsDefaultMs: round(page.ms),
        historyFileMiB: round(file.size / MiB, 2),
      },
      restartMs: round(restartMs),
    };
  } finally {
    await terminate(proc, 'SIGTERM', 30_000);
    await rm(dataDir, { recursive: true, force: true });
  }
}

function readCommit(root: string): string {
  try {
    const head = readFileSync(path.join(root, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 12);
    return readFileSync(path.join(root, '.git', head.slice(5)), 'utf8')
      .trim()
      .slice(0, 12);
  } catch {
    return path.basename(root);
  }
}

function markdown(runs: readonly Run[]): string {
  const row = (name: string, value: (r: Run) => string | number) =>
    `| ${name} | ${runs.map((r) => String(value(r))).join(' | ')} |`;
  return [
    '# Alert history benchmark',
    '',
    'Written by `npx tsx perf/alert-history.ts` (see its header). The real exporter with the shipped GC flags, its',
    'history on the local disk (fsync per acknowledged notification); times are client round trips over loopback on',
    'a shared 2-core machine.',
    '',
    `| | ${runs.map((r) => `${r.label} (${r.commit})`).join(' | ')} |`,
    `|---|${runs.map(() => '---').join('|')}|`,
    row(
      'notifications × alerts',
      (r) => `${r.load.count} × ${r.load.alertsPerNotification} (${r.load.bodyMiB} MiB each)`,
    ),
    row('answers', (r) =>
      Object.entries(r.load.statuses)
        .map(([s, n]) => `${n}× ${s}`)
        .join(', '),
    ),
    row('large notification p50 / max (ms)', (r) => `${r.load.p50Ms} / ${r.load.maxMs}`),
    row(
      'RSS idle → peak → after restart (MiB)',
      (r) => `${r.rssMiB.idle} → ${r.rssMiB.peak} → ${r.rssMiB.afterRestart}`,
    ),
    row(
      'typical notification p50 / p99 / max (ms)',
      (r) => `${r.typical.p50Ms} / ${r.typical.p99Ms} / ${r.typical.maxMs}`,
    ),
    row(
      'GET /api/v1/alerts bytes (default / limit=1000)',
      (r) => `${r.reads.alertsDefaultBytes} / ${r.reads.alertsLimit1000Bytes}`,
    ),
    row('GET /api/v1/alerts time (ms)', (r) => r.reads.alertsDefaultMs),
    row('history file (MiB)', (r) => r.reads.historyFileMiB),
    row('restart to /health (ms)', (r) => r.restartMs),
    row('machine', (r) => r.machine),
    row('measured at', (r) => r.at),
    '',
  ].join('\n');
}

const run = await measure();
const jsonFile = `${args.out}.json`;
const previous: Run[] = existsSync(jsonFile) ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Run[]) : [];
const runs = [...previous.filter((r) => r.label !== run.label), run];
await writeFile(jsonFile, `${JSON.stringify(runs, null, 2)}\n`);
await writeFile(`${args.out}.md`, markdown(runs));
log(markdown(runs));
