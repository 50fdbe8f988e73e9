import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { request } from 'undici';
import { freePort } from '../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../harness/processes.js';
import { median } from './exporter-stats.js';

/** One autocannon run against the exporter's /metrics. */
export interface LoadRun {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly acceptEncoding?: string;
  /** Requests per second autocannon was held to (all connections together); absent = as fast as it can. */
  readonly overallRate?: number;
  /** Whether the P99 target is judged on this run (see LoadPlan). */
  readonly judged: boolean;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  };
  readonly bytesPerSecond: number;
  readonly errors: number;
  readonly non2xx: number;
  /** Exporter CPU over the run, in cores (1.0 = one core busy the whole time). */
  readonly exporterCpuCores: number;
  /** Exporter CPU per answered request: robust against other load on the machine, unlike latency. */
  readonly exporterCpuMsPerRequest: number;
  readonly rssMaxBytes: number;
}

/** What the exporter child looked like under load. */
export interface LoadResult {
  readonly runtime: string;
  readonly startupToReadyMs: number;
  readonly scrape: { readonly bytes: number; readonly lines: number; readonly sequentialMedianMs: number };
  readonly runs: LoadRun[];
  readonly rss: { readonly idleBytes: number; readonly maxSampledBytes: number; readonly hwmBytes: number };
}

/**
 * One load shape, always as fast as autocannon goes (closed loop). One connection is how a Prometheus
 * server scrapes a target, one request at a time; back to back it keeps the exporter busy with
 * hundreds of scrapes a second, and each latency is the exporter's own. With ten connections in flight
 * the latency is ten divided by the rate autocannon itself sustains on this 2-core machine (Little's
 * law), so those runs are reported for throughput but not judged against the latency target.
 * (autocannon's `overallRate` is no help: each connection sends its budget back to back at the top
 * of each second, and its coordinated-omission correction assumes a 1 ms interval.)
 */
export interface LoadPlan {
  readonly connections: number;
  readonly durationSeconds: number;
  readonly acceptEncoding?: string;
  readonly overallRate?: number;
  readonly judged: boolean;
}

const REPO = path.resolve(import.meta.dirname, '..');
/** Inside the repo so the compiled files resolve node_modules; .tmp/ is git-ignored. */
const COMPILED_DIR = path.join(REPO, '.tmp', 'bench-exporter-dist');

/** How the exporter child runs: compiled JS as `bin/etcd-monitor.js` ships it, or from source via tsx. */
export type Runtime = 'compiled' | 'tsx';

/**
 * Compiles src/ with the build tsconfig into a private directory (what `npm run build` puts in dist/ for
 * bin/etcd-monitor.js; each harness passes its own). Type errors in files other engineers are still
 * editing do not stop tsc from emitting, so only a missing cli.js counts as failure.
 */
export function compileExporter(outDir: string = COMPILED_DIR): string {
  rmSync(outDir, { recursive: true, force: true });
  try {
    execFileSync(
      path.join(REPO, 'node_modules', '.bin', 'tsc'),
      ['-p', 'tsconfig.build.json', '--outDir', outDir],
      {
        cwd: REPO,
        stdio: 'pipe',
      },
    );
  } catch {
    // Reported below only if nothing usable was emitted.
  }
  const cli = path.join(outDir, 'cli.js');
  if (!existsSync(cli)) throw new Error(`tsc emitted no ${cli}`);
  return cli;
}

/**
 * (c)+(d): starts the real exporter (`node --import tsx src/cli.ts`) with every cluster configured,
 * waits for /ready, then runs autocannon against /metrics while sampling the child's RSS from /proc.
 */
export async function measureLoad(
  runtime: Runtime,
  nodeOptions: readonly string[],
  configFile: string,
  dataDir: string,
  plans: readonly LoadPlan[],
  log: (msg: string) => void,
): Promise<LoadResult> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const entry = runtime === 'compiled' ? [compileExporter()] : ['--import', 'tsx', 'src/cli.ts'];
  const child = spawnTracked(
    process.execPath,
    [
      ...nodeOptions,
      ...entry,
      '--config',
      configFile,
      '--api-host',
      '127.0.0.1',
      '--api-port',
      String(port),
      '--data-dir',
      dataDir,
    ],
    { cwd: REPO, label: 'exporter' },
  );
  try {
    await waitFor(
      async () => {
        if (!child.running) throw new Error(`exporter exited:\n${child.output()}`);
        const res = await request(`${base}/ready`);
        await res.body.dump();
        return res.statusCode === 200;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the exporter to be ready' },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- exporter output ---\n${child.output()}`);
    });
    const startupToReadyMs = Date.now() - started;
    log(`  exporter ready after ${startupToReadyMs} ms (pid ${child.pid})`);

    const sequential: number[] = [];
    let body = '';
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const res = await request(`${base}/metrics`);
      body = await res.body.text();
      sequential.push(performance.now() - t0);
      if (res.statusCode !== 200)
        throw new Error(`/metrics answered ${res.statusCode}: ${body.slice(0, 200)}`);
    }
    const scrape = {
      bytes: Buffer.byteLength(body),
      lines: body.split('\n').filter((l) => l && !l.startsWith('#')).length,
      sequentialMedianMs: median(sequential),
    };
    log(
      `  /metrics: ${scrape.bytes} bytes, ${scrape.lines} samples, sequential median ${scrape.sequentialMedianMs.toFixed(1)} ms`,
    );
    const idleBytes = memory(child).rss;

    let maxSampled = idleBytes;
    const sampler = setInterval(() => {
      if (child.running) maxSampled = Math.max(maxSampled, memory(child).rss);
    }, 200);
    const runs: LoadRun[] = [];
    try {
      for (const plan of plans) runs.push(await loadRun(base, child, plan, log));
    } finally {
      clearInterval(sampler);
    }
    const { rss, hwm } = memory(child);
    return {
      runtime:
        (runtime === 'compiled'
          ? `node ${process.version}, compiled with tsconfig.build.json (as bin/etcd-monitor.js runs it)`
          : `node ${process.version} --import tsx (from source)`) +
        (nodeOptions.length > 0 ? `, node flags ${nodeOptions.join(' ')}` : ', default node flags'),
      startupToReadyMs,
      scrape,
      runs,
      rss: { idleBytes, maxSampledBytes: Math.max(maxSampled, rss), hwmBytes: hwm },
    };
  } finally {
    await terminate(child, 'SIGTERM');
  }
}

async function loadRun(
  base: string,
  child: TrackedProcess,
  plan: LoadPlan,
  log: (msg: string) => void,
): Promise<LoadRun> {
  let rssMax = 0;
  const sampler = setInterval(() => {
    if (child.running) rssMax = Math.max(rssMax, memory(child).rss);
  }, 200);
  const cpu0 = cpuSeconds(child);
  const t0 = performance.now();
  const result = await autocannon({
    url: `${base}/metrics`,
    connections: plan.connections,
    duration: plan.durationSeconds,
    ...(plan.overallRate ? { overallRate: plan.overallRate } : {}),
    ...(plan.acceptEncoding ? { headers: { 'accept-encoding': plan.acceptEncoding } } : {}),
  });
  const elapsedS = (performance.now() - t0) / 1000;
  const cpuUsed = cpuSeconds(child) - cpu0;
  const cpu = cpuUsed / elapsedS;
  clearInterval(sampler);
  if (!child.running) throw new Error(`exporter died under load:\n${child.output()}`);
  const run: LoadRun = {
    connections: plan.connections,
    durationSeconds: plan.durationSeconds,
    ...(plan.acceptEncoding ? { acceptEncoding: plan.acceptEncoding } : {}),
    ...(plan.overallRate ? { overallRate: plan.overallRate } : {}),
    judged: plan.judged,
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    bytesPerSecond: result.throughput.average,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    exporterCpuCores: cpu,
    exporterCpuMsPerRequest: result.requests.total > 0 ? (cpuUsed * 1000) / result.requests.total : NaN,
    rssMaxBytes: Math.max(rssMax, memory(child).rss),
  };
  log(
    `  ${plan.connections} conn${plan.acceptEncoding ? ` (${plan.acceptEncoding})` : ''}${plan.overallRate ? ` at ${plan.overallRate} req/s` : ''}: ${run.requestsPerSecond.toFixed(1)} req/s, ` +
      `P50 ${run.latencyMs.p50} ms, P99 ${run.latencyMs.p99} ms, max ${run.latencyMs.max} ms, ` +
      `CPU ${cpu.toFixed(2)} cores, RSS max ${(run.rssMaxBytes / 2 ** 20).toFixed(1)} MiB, errors ${run.errors}, non-2xx ${run.non2xx}`,
  );
  return run;
}

/** VmRSS and VmHWM (peak RSS) of the child from /proc, in bytes. */
function memory(child: TrackedProcess): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024 };
}

/** User + system CPU seconds of the child from /proc/<pid>/stat (fields 14 and 15, in clock ticks). */
function cpuSeconds(child: TrackedProcess): number {
  const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}
