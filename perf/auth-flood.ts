/**
 * Basic-auth flood benchmark (not a test). Starts a real 1-member etcd and the real exporter
 * (`node --import tsx src/cli.ts`) with a web config holding one bcrypt user (cost 10) and /metrics behind auth,
 * then measures `/metrics` latency with the correct credentials (one request every --interval-ms on one
 * keep-alive connection) in three phases side by side:
 *   idle           nothing else;
 *   flood-known    16 connections send random wrong passwords for the known user, back to back;
 *   flood-unknown  16 connections send random user names with random passwords.
 * The three phases are repeated --reps times, interleaved, and the report gives each phase's median P99 over
 * the repetitions: the machine is shared, and a neighbour's burst should not decide the verdict.
 * Run: npx tsx perf/auth-flood.ts [--label after] [--reps 3] [--seconds 10] [--connections 16] [--interval-ms 10]
 * Merges its run into perf/results/auth-flood.json under --label and rewrites perf/results/auth-flood.md
 * with every label side by side (so `before` and `after` stay comparable). Stops every process it started.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import bcrypt from 'bcryptjs';
import { Client } from 'undici';
import { startCluster, type EtcdCluster } from '../harness/etcd-cluster.js';
import { freePort } from '../harness/free-port.js';
import { spawnTracked, terminate, type TrackedProcess } from '../harness/processes.js';
import { waitExporterReady } from './exporter-ready.js';
import { median, round } from './exporter-stats.js';

const { values: args } = parseArgs({
  options: {
    label: { type: 'string', default: 'after' },
    reps: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    'interval-ms': { type: 'string', default: '10' },
    out: { type: 'string', default: path.join(import.meta.dirname, 'results', 'auth-flood') },
  },
});
const REPO = path.resolve(import.meta.dirname, '..');
const USER = 'prometheus';
const PASSWORD = 'scrape-password-0123';
const BCRYPT_COST = 10;
const log = (msg: string) => process.stdout.write(`${msg}\n`);
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

const PHASES = ['idle', 'flood-known', 'flood-unknown'] as const;
type Phase = (typeof PHASES)[number];
interface PhaseResult {
  readonly phase: Phase;
  /** Which repetition (1-based); absent in runs made before --reps existed (one repetition). */
  readonly rep?: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** /metrics answers other than 200 (e.g. 401 after a cache eviction, 429, timeouts). */
  readonly scrapeFailures: number;
  /** Wrong-password requests answered during the phase, by status. */
  readonly flood: {
    readonly requests: number;
    readonly perSecond: number;
    readonly statuses: Record<string, number>;
  };
  readonly exporterCpuSeconds: number;
}
interface Run {
  readonly label: string;
  readonly commit: string;
  readonly when: string;
  readonly machine: string;
  readonly settings: {
    seconds: number;
    connections: number;
    intervalMs: number;
    bcryptCost: number;
    reps?: number;
  };
  readonly phases: readonly PhaseResult[];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function cpuSeconds(child: TrackedProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** One client sending requests back to back until `until`, counting statuses. */
async function floodLoop(
  base: string,
  until: number,
  auth: () => string,
  statuses: Record<string, number>,
): Promise<void> {
  const client = new Client(base, { pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  try {
    while (performance.now() < until) {
      try {
        const res = await client.request({
          path: '/metrics',
          method: 'GET',
          headers: { authorization: auth() },
        });
        await res.body.dump();
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      } catch (err) {
        const key = (err as { code?: string }).code ?? 'error';
        statuses[key] = (statuses[key] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function measurePhase(
  base: string,
  child: TrackedProcess,
  phase: Phase,
  rep: number,
): Promise<PhaseResult> {
  const seconds = Number(args.seconds);
  const intervalMs = Number(args['interval-ms']);
  const started = performance.now();
  const until = started + seconds * 1000;
  const statuses: Record<string, number> = {};
  const floods: Promise<void>[] = [];
  if (phase !== 'idle') {
    const auth =
      phase === 'flood-known'
        ? () => basic(USER, randomBytes(12).toString('base64url'))
        : () => basic(`user-${randomBytes(6).toString('hex')}`, randomBytes(12).toString('base64url'));
    for (let i = 0; i < Number(args.connections); i++) floods.push(floodLoop(base, until, auth, statuses));
  }
  const cpu0 = cpuSeconds(child);
  const scraper = new Client(base, { pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const latencies: number[] = [];
  let failures = 0;
  // Let the flood reach steady state before sampling.
  if (phase !== 'idle') await new Promise((r) => setTimeout(r, 1000));
  try {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        const res = await scraper.request({
          path: '/metrics',
          method: 'GET',
          headers: { authorization: basic(USER, PASSWORD) },
        });
        await res.body.dump();
        if (res.statusCode !== 200) failures++;
      } catch {
        failures++;
      }
      const ms = performance.now() - t0;
      latencies.push(ms);
      const wait = intervalMs - ms;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await scraper.close();
  }
  await Promise.all(floods);
  const elapsedS = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(child) - cpu0;
  const sorted = [...latencies].sort((a, b) => a - b);
  const floodRequests = Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    phase,
    rep,
    samples: sorted.length,
    p50Ms: round(quantile(sorted, 0.5), 2),
    p90Ms: round(quantile(sorted, 0.9), 2),
    p99Ms: round(quantile(sorted, 0.99), 2),
    maxMs: round(sorted.at(-1) ?? NaN, 2),
    scrapeFailures: failures,
    flood: { requests: floodRequests, perSecond: round(floodRequests / elapsedS, 1), statuses },
    exporterCpuSeconds: round(cpu, 2),
  };
}

function gitCommit(): string {
  try {
    const head = readFileSync(path.join(REPO, '.git', 'HEAD'), 'utf8').trim();
    const ref = head.startsWith('ref: ') ? head.slice(5) : undefined;
    return (ref ? readFileSync(path.join(REPO, '.git', ref), 'utf8') : head).trim().slice(0, 12);
  } catch {
    return 'unknown';
  }
}

function renderMarkdown(runs: Record<string, Run>): string {
  const lines = [
    '# Basic-auth flood: /metrics latency with correct credentials',
    '',
    'Generated by `npx tsx perf/auth-flood.ts --label <label>` (see the header of that file). One bcrypt user',
    `(cost ${BCRYPT_COST}), \`metrics_auth\` on; the scraper sends one \`GET /metrics\` with the right password`,
    'every interval on one keep-alive connection while N other connections send wrong passwords back to back.',
    'The target of issue 11: P99 under the flood within 2× of the idle P99.',
    '',
  ];
  for (const run of Object.values(runs)) {
    const byPhase = (phase: Phase) => run.phases.filter((p) => p.phase === phase);
    const medianP99 = (phase: Phase) => median(byPhase(phase).map((p) => p.p99Ms));
    const idleP99 = medianP99('idle');
    lines.push(
      `## ${run.label} (commit ${run.commit}, ${run.when})`,
      '',
      `${run.machine}; ${run.settings.connections} flood connections, ${run.settings.reps ?? 1} × ${run.settings.seconds} s per phase, one scrape every ${run.settings.intervalMs} ms.`,
      '',
      '| phase | median P99 ms | P99 / idle P99 | P99 of each repetition, ms |',
      '| --- | --- | --- | --- |',
    );
    for (const phase of PHASES) {
      const p99 = medianP99(phase);
      lines.push(
        `| ${phase} | ${round(p99, 2)} | ${round(p99 / idleP99, 2)}× | ${byPhase(phase)
          .map((p) => p.p99Ms)
          .join(', ')} |`,
      );
    }
    lines.push(
      '',
      '| rep | phase | scrapes | P50 ms | P90 ms | P99 ms | max ms | failed scrapes | flood req/s | flood answers | exporter CPU s |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const p of run.phases) {
      const answers =
        Object.entries(p.flood.statuses)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ') || '—';
      lines.push(
        `| ${p.rep ?? 1} | ${p.phase} | ${p.samples} | ${p.p50Ms} | ${p.p90Ms} | ${p.p99Ms} | ${p.maxMs} | ${p.scrapeFailures} | ${p.flood.perSecond} | ${answers} | ${p.exporterCpuSeconds} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'auth-flood-'));
  let cluster: EtcdCluster | undefined;
  let child: TrackedProcess | undefined;
  try {
    await writeFile(
      path.join(dir, 'web.yml'),
      [
        'basic_auth_users:',
        `  ${USER}: ${bcrypt.hashSync(PASSWORD, BCRYPT_COST)}`,
        'etcd_monitor:',
        '  metrics_auth: true',
        '',
      ].join('\n'),
    );
    cluster = await startCluster({ size: 1 });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawnTracked(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        '--endpoints',
        cluster.endpoints.join(','),
        '--web.config.file',
        path.join(dir, 'web.yml'),
        '--api-host',
        '127.0.0.1',
        '--api-port',
        String(port),
        '--data-dir',
        path.join(dir, 'data'),
        '--log-level',
        'warn',
      ],
      { cwd: REPO, label: 'exporter' },
    );
    const running = child;
    await waitExporterReady(running, base);
    // Warm up: the first request pays for the one bcrypt of the correct password, and the JIT.
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: basic(USER, PASSWORD) } });
      await res.text();
      if (res.status !== 200) throw new Error(`/metrics with the right password answered ${res.status}`);
    }
    const phases: PhaseResult[] = [];
    for (let rep = 1; rep <= Number(args.reps); rep++) {
      for (const phase of PHASES) {
        log(`rep ${rep} phase ${phase}: ${args.seconds} s`);
        const r = await measurePhase(base, running, phase, rep);
        log(`  ${JSON.stringify(r)}`);
        phases.push(r);
        if (!running.running) throw new Error(`exporter died during ${phase}:\n${running.output()}`);
      }
    }
    const cpus = os.cpus();
    const run: Run = {
      label: args.label,
      commit: gitCommit(),
      when: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      machine: `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, node ${process.version}, shared with other work`,
      settings: {
        seconds: Number(args.seconds),
        connections: Number(args.connections),
        intervalMs: Number(args['interval-ms']),
        bcryptCost: BCRYPT_COST,
        reps: Number(args.reps),
      },
      phases,
    };
    const jsonFile = `${args.out}.json`;
    const all: Record<string, Run> = existsSync(jsonFile)
      ? (JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, Run>)
      : {};
    all[run.label] = run;
    await writeFile(jsonFile, `${JSON.stringify(all, null, 2)}\n`);
    await writeFile(`${args.out}.md`, renderMarkdown(all));
    log(`wrote ${jsonFile} and ${args.out}.md`);
  } finally {
    if (child) await terminate(child, 'SIGTERM');
    await cluster?.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
