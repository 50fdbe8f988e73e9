import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { build, decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { summarize } from '../../src/loadgen/latency.js';
import type { DistributedResult, ProcessReport } from '../../src/loadgen/distributed-merge.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';
import { waitFor } from '../../harness/processes.js';
import { startPrometheus } from '../support/prometheus.js';
import { benchKeys, expectUnharmed, keyspaceOutsideBench, seedUserKeys, type UserKeys } from './keyspace.js';

// Issue 16 part 4: one benchmark run by 3 real `etcd-monitor bench` processes that coordinate through the
// target etcd (a barrier, results and cleanup under the run's prefix). The merged report is checked
// against ground truth: every call's latency, written by each process with --latency-file (the histograms
// alone could not show that the merge lost nothing), and the keyspace outside the prefix is unchanged.

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI as its own process, keeping all of stdout (the JSON reports are long). */
function cli(
  args: string[],
  env: Record<string, string> = {},
): { done: Promise<Exit>; kill(sig: NodeJS.Signals): void } {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    // Only the index a test gives: never one from the environment the tests run in.
    env: { ...process.env, JOB_COMPLETION_INDEX: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const done = new Promise<Exit>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    }),
  );
  return { done, kill: (sig) => child.kill(sig) };
}

const newHistogram = (): Histogram =>
  build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

/** The `r|w <µs>` lines of a --latency-file. */
async function latencies(file: string): Promise<{ read: number[]; write: number[] }> {
  const out = { read: [] as number[], write: [] as number[] };
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (!line) continue;
    const [op, us] = line.split(' ');
    (op === 'r' ? out.read : out.write).push(Number(us));
  }
  return out;
}

/**
 * The value at percentile p of sorted values by HdrHistogram's rank rule: the ceil(p/100·n)-th value, with
 * p/100·n first rounded to the integer it is within a few ulps of (99.9/100·3000 is 2997.0000000000005).
 */
function exactPercentile(sorted: readonly number[], p: number): number {
  const fp = (p / 100) * sorted.length;
  const rank = Math.abs(fp - Math.round(fp)) < 1e-9 ? Math.round(fp) : Math.ceil(fp);
  return sorted[Math.max(1, rank) - 1]!;
}

describe('a benchmark spread over 3 processes (--processes, --process-index, --run-id)', () => {
  let cluster: EtcdCluster;
  let admin: Etcd3;
  let user: UserKeys;
  let before: string[];
  let dir: string;
  let endpoints: string;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    admin = new Etcd3({ hosts: cluster.endpoints });
    user = await seedUserKeys(admin);
    endpoints = `--endpoints=${cluster.endpoints.join(',')}`;
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-dist-'));
  });
  afterAll(async () => {
    admin?.close();
    await cluster?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    before = await keyspaceOutsideBench(admin);
  });

  it('merges exactly: throughput is the sum, percentiles those of all latencies together, nothing left behind', async () => {
    const common = [
      'bench',
      endpoints,
      '--processes',
      '3',
      '--run-id',
      'dist-a',
      '--type',
      'mixed',
      '--ops',
      '3000',
      '--clients',
      '8',
      '--conns',
      '2',
      '--key-space',
      '300',
      '--val-size',
      '64',
      '--output',
      'json',
      '--barrier-timeout',
      '60s',
    ];
    const file = (i: number) => path.join(dir, `lat-${i}.txt`);
    const runs = [
      cli([...common, '--process-index', '0', '--latency-file', file(0)]),
      // --workers inside one process of the run keeps working.
      cli([...common, '--process-index', '1', '--workers', '2', '--latency-file', file(1)]),
      // The index from a Kubernetes Indexed Job's environment.
      cli([...common, '--latency-file', file(2)], { JOB_COMPLETION_INDEX: '2' }),
    ];
    const exits = await Promise.all(runs.map((r) => r.done));
    for (const e of exits) expect(e.code, e.stderr).toBe(0);
    const combined = JSON.parse(exits[0]!.stdout) as DistributedResult;
    const own = exits.slice(1).map((e) => JSON.parse(e.stdout) as ProcessReport);

    expect(combined.processes.map((p) => [p.index, p.status])).toEqual([
      [0, 'completed'],
      [1, 'completed'],
      [2, 'completed'],
    ]);
    // The coordinator's rows are the processes' own reports.
    expect(combined.processes[1]!.outcome).toEqual(own[0]!.outcome);
    expect(combined.processes[2]!.outcome).toEqual(own[1]!.outcome);
    expect(combined.processes[1]!.result!.conditions.workers).toBe(2);
    // --ops is the run's total, 1000 calls each.
    expect(combined.processes.map((p) => p.result!.total)).toEqual([1000, 1000, 1000]);
    expect(combined).toMatchObject({ total: 3000, successful: 3000, failed: 0 });
    const rows = combined.processes.map((p) => p.result!);
    const sum = (f: (r: (typeof rows)[number]) => number) => rows.reduce((a, r) => a + f(r), 0);
    expect(combined.throughput).toBeCloseTo(
      sum((r) => r.throughput),
      6,
    );
    expect(combined.operations.read!.throughput).toBeCloseTo(
      sum((r) => r.operations.read!.throughput),
      6,
    );
    expect(combined.operations.write!.throughput).toBeCloseTo(
      sum((r) => r.operations.write!.throughput),
      6,
    );
    expect(combined.conditions.clients).toBe(24);
    // A common start: the processes began their load within a few poll intervals (50 ms) of each other.
    const starts = rows.map((r) => Date.parse(r.startedAt));
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(1000);

    // Ground truth: every call's latency from the three processes.
    const all = { read: [] as number[], write: [] as number[] };
    for (const [i, p] of combined.processes.entries()) {
      const raw = await latencies(file(i));
      // Per process: as many latencies as successful calls, and its own histogram holds exactly them.
      for (const op of ['read', 'write'] as const) {
        expect(raw[op].length).toBe(p.result!.operations[op]!.successful);
        const h = newHistogram();
        for (const us of raw[op]) h.recordValue(us);
        const decoded = decodeFromCompressedBase64(p.outcome![op].histogram);
        expect(decoded.totalCount).toBe(raw[op].length);
        // Every bucket count survives the encoding; the extremes come exact from the process's summary.
        const { maxMs, minMs, avgMs, stddevMs: _sd, ...buckets } = summarize(h);
        expect(summarize(decoded)).toMatchObject(buckets);
        expect(summarize(decoded).avgMs).toBeCloseTo(avgMs, 9);
        expect(p.result!.operations[op]!.latency).toMatchObject({ ...buckets, maxMs, minMs });
        all[op].push(...raw[op]);
      }
    }
    const truth = newHistogram();
    for (const us of [...all.read, ...all.write]) truth.recordValue(us);
    // The merge lost nothing: the merged percentiles are those of one histogram of all latencies...
    // (mean and deviation are float sums over the buckets, so equal up to rounding).
    const { avgMs, stddevMs, ...exact } = summarize(truth);
    expect(combined.latency).toMatchObject(exact);
    expect(combined.latency.avgMs).toBeCloseTo(avgMs, 9);
    expect(combined.latency.stddevMs).toBeCloseTo(stddevMs, 9);
    expect(combined.latency.count).toBe(3000);
    // ...which are within HDR's precision (3 significant digits) of the exact percentiles.
    const sorted = [...all.read, ...all.write].sort((a, b) => a - b);
    for (const [p, got] of [
      [50, combined.latency.p50Ms],
      [95, combined.latency.p95Ms],
      [99, combined.latency.p99Ms],
      [99.9, combined.latency.p999Ms],
    ] as const) {
      const exact = exactPercentile(sorted, p);
      expect(got * 1000).toBeGreaterThanOrEqual(exact);
      expect(got * 1000).toBeLessThanOrEqual(exact * 1.001 + 1);
    }

    expect(combined.cleanup).toMatchObject({
      prefix: '/etcd-monitor/bench/dist-a/',
      compactedRevision: null,
    });
    // The 300 read keys, open, start, process 0's presence and the 2 other results (process 0 keeps its own
    // in memory); the others' presence keys went with their leases when they exited (or are deleted here if
    // they had not revoked them yet).
    expect(combined.cleanup.deletedKeys).toBeGreaterThanOrEqual(305);
    expect(combined.cleanup.deletedKeys).toBeLessThanOrEqual(307);
    expect(await benchKeys(admin)).toBe(0);
    await expectUnharmed(admin, cluster.endpoints[0]!, user, before);
  });

  it('a process that never shows up: the coordinator fails with BENCH_PROCESS_MISSING naming it, in time, and cleans up', async () => {
    const common = [
      'bench',
      endpoints,
      '--processes',
      '3',
      '--run-id',
      'dist-b',
      '--type',
      'read',
      '--ops',
      '3000',
    ];
    const args = [...common, '--key-space', '2000', '--barrier-timeout', '5s'];
    const coord = cli([...args, '--process-index', '0']);
    const other = cli([...args, '--process-index', '1']);
    const [c, o] = await Promise.all([coord.done, other.done]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/BENCH_PROCESS_MISSING: start barrier: process 2 never joined within 5 s/);
    expect(c.stderr).toMatch(
      /missing: 2; deleted the run's \d+ keys under "\/etcd-monitor\/bench\/dist-b\/"/,
    );
    // The barrier deadline (5 s) plus start-up and cleanup, not a hang.
    expect(c.ms).toBeLessThan(40_000);
    // The process that did show up was told to stop and said why.
    expect(o.code).toBe(1);
    expect(o.stderr).toMatch(/BENCH_PROCESS_MISSING/);
    expect(await benchKeys(admin)).toBe(0);
    await expectUnharmed(admin, cluster.endpoints[0]!, user, before);
  });

  it('SIGINT to one process: it exits 130, the others stop, the coordinator names it and deletes everything', async () => {
    const args = [
      'bench',
      endpoints,
      '--processes',
      '3',
      '--run-id',
      'dist-c',
      '--type',
      'write',
      '--duration',
      '120s',
      '--clients',
      '4',
      '--conns',
      '2',
      '--barrier-timeout',
      '30s',
    ];
    const runs = [0, 1, 2].map((i) => cli([...args, '--process-index', String(i)]));
    await waitFor(async () => (await benchKeys(admin)) >= 500, { what: 'run under way', timeoutMs: 60_000 });
    runs[1]!.kill('SIGINT');
    const [c, p1, p2] = await Promise.all(runs.map((r) => r.done));
    expect(p1!.code).toBe(130);
    expect(p1!.stderr).toMatch(/process 1 interrupted; told the others to stop/);
    expect(p2!.code).toBe(1);
    expect(p2!.stderr).toMatch(/BENCH_INTERRUPTED/);
    expect(c!.code).toBe(1);
    expect(c!.stderr).toMatch(/BENCH_PROCESS_FAILED: process 1 interrupted .*deleted the run's \d+ keys/);
    expect(c!.ms).toBeLessThan(60_000);
    expect(await benchKeys(admin)).toBe(0);
    await expectUnharmed(admin, cluster.endpoints[0]!, user, before);
  });

  it('two sidecars (bench --serve): their latency histograms add up in Prometheus with sum by (le)', async () => {
    const ports = [await freePort(), await freePort()];
    const sidecars = ports.map((port) =>
      cli([
        'bench',
        '--serve',
        endpoints,
        '--type',
        'write',
        '--ops',
        '400',
        '--clients',
        '4',
        '--conns',
        '2',
        '--listen',
        `127.0.0.1:${port}`,
      ]),
    );
    const prometheus = await startPrometheus({
      scrapeTargets: ports.map((port) => `127.0.0.1:${port}`),
      interval: '1s',
    });
    const metric = 'etcd_monitor_benchmark_request_duration_seconds_bucket';
    try {
      // Each sidecar's first round (at start) finished: 400 writes in its histogram.
      const own = await Promise.all(
        ports.map((port) =>
          waitFor(
            async () => {
              const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
              const buckets = new Map<string, number>();
              for (const m of text.matchAll(
                new RegExp(`^${metric}\\{le="([^"]+)",workload="write",operation="write"\\} (\\S+)$`, 'gm'),
              ))
                buckets.set(m[1]!, Number(m[2]));
              return buckets.get('+Inf') === 400 ? buckets : undefined;
            },
            { what: `sidecar on ${port} to finish its round`, timeoutMs: 60_000 },
          ),
        ),
      );
      const query = `sum by (le) (${metric}{workload="write",operation="write"})`;
      const summed = await waitFor(
        async () => {
          const v = await prometheus.query(query);
          return v.find((s) => s.metric['le'] === '+Inf')?.value[1] === '800' ? v : undefined;
        },
        { what: 'Prometheus to have scraped both rounds', timeoutMs: 30_000, intervalMs: 500 },
      );
      // Every bucket of the sum is the sum of the two sidecars' buckets: only the scrape's instance label
      // tells their series apart (no per-process label to aggregate away).
      expect(summed.length).toBe(own[0]!.size);
      for (const s of summed)
        expect(Number(s.value[1])).toBe(own[0]!.get(s.metric['le']!)! + own[1]!.get(s.metric['le']!)!);
      const series = await prometheus.query(`${metric}{workload="write",operation="write",le="+Inf"}`);
      expect(series.map((s) => Object.keys(s.metric).sort())).toEqual([
        ['__name__', 'instance', 'job', 'le', 'operation', 'workload'],
        ['__name__', 'instance', 'job', 'le', 'operation', 'workload'],
      ]);
      const p99 = await prometheus.query(`histogram_quantile(0.99, ${query})`);
      expect(Number(p99[0]!.value[1])).toBeGreaterThan(0);
    } finally {
      await prometheus.stop();
      for (const s of sidecars) s.kill('SIGTERM');
      await Promise.all(sidecars.map((s) => s.done));
    }
    expect(await benchKeys(admin)).toBe(0);
    await expectUnharmed(admin, cluster.endpoints[0]!, user, before);
  });

  it.each([
    [
      ['--processes', '3', '--run-id', 'x'],
      {},
      /process-index: --processes 3 needs --process-index \(or \$JOB_COMPLETION_INDEX/,
    ],
    [
      ['--processes', '3', '--process-index', '1'],
      {},
      /run-id: every process of one run needs the same --run-id/,
    ],
    [
      ['--processes', '3', '--process-index', '3', '--run-id', 'x'],
      {},
      /process-index: must be an integer from 0 to 2/,
    ],
    [
      ['--processes', '3', '--run-id', 'x'],
      { JOB_COMPLETION_INDEX: 'two' },
      /process-index: \$JOB_COMPLETION_INDEX is "two"/,
    ],
    [['--processes', '2', '--run-id', 'a/b', '--process-index', '0'], {}, /run-id: letters, digits/],
    [['--serve', '--run-id', 'x'], {}, /run-id: is for one-off runs, not --serve/],
  ])('bad distributed flags %j exit 2 naming the flag, before touching etcd', async (flags, env, message) => {
    const r = await cli(['bench', endpoints, ...flags], env as Record<string, string>).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(await benchKeys(admin)).toBe(0);
    expect(await keyspaceOutsideBench(admin)).toEqual(before);
  });

  it('text output: the coordinator prints the merged block with a row per process, the other its own share', async () => {
    const args = [
      'bench',
      endpoints,
      '--processes',
      '2',
      '--run-id',
      'dist-text',
      '--ops',
      '400',
      '--clients',
      '4',
    ];
    const [c, p1] = await Promise.all([
      cli([...args, '--conns', '2', '--process-index', '0']).done,
      cli([...args, '--conns', '2', '--process-index', '1']).done,
    ] as const);
    expect(c.code, c.stderr).toBe(0);
    expect(p1.code, p1.stderr).toBe(0);
    expect(c.stdout).toMatch(/^=== Benchmark Results ===\nType: {11}write\n/);
    expect(c.stdout).toMatch(/Total: {10}400\n/);
    expect(c.stdout).toMatch(/8 clients over 4 connections/);
    expect(c.stdout).toMatch(/Processes:\n.*\n {2}0 .* completed +200 .*\n {2}1 .* completed +200 /);
    expect(c.stdout).toContain(
      '(2 processes: throughput is the sum of theirs, latency from their merged HDR histograms)',
    );
    expect(c.stdout).toMatch(
      /\nCleanup: deleted the run's \d+ keys under "\/etcd-monitor\/bench\/dist-text\/"/,
    );
    expect(p1.stdout).toMatch(/^Process 1 of a distributed run \(its own share\)\n=== Benchmark Results ===/);
    expect(p1.stdout).toMatch(/Total: {10}200\n/);
    expect(p1.stdout).toContain(
      'Cleanup: process 0 (the coordinator) merges this result and deletes everything under "/etcd-monitor/bench/dist-text/"',
    );
    expect(await benchKeys(admin)).toBe(0);
    await expectUnharmed(admin, cluster.endpoints[0]!, user, before);
  });

  it('two processes with one index: the second is refused (BENCH_INDEX_TAKEN) and writes nothing; the run completes', async () => {
    const args = [
      'bench',
      endpoints,
      '--processes',
      '2',
      '--run-id',
      'dist-dup',
      '--duration',
      '3s',
      '--clients',
      '4',
      '--output',
      'json',
    ];
    const coord = cli([...args, '--conns', '2', '--process-index', '0']);
    const twins = [
      cli([...args, '--conns', '2', '--process-index', '1']),
      cli([...args, '--conns', '2', '--process-index', '1']),
    ];
    const [c, a, b] = await Promise.all([coord.done, twins[0]!.done, twins[1]!.done]);
    expect(c.code, c.stderr).toBe(0);
    const codes = [a, b].map((e) => e.code).sort();
    expect(codes).toEqual([0, 1]);
    const loser = a.code === 1 ? a : b;
    expect(loser.stderr).toMatch(
      /BENCH_INDEX_TAKEN: process index 1 is already taken in this run \(by pid \d+ on .*\); every process needs its own --process-index; wrote nothing/,
    );
    // --duration is every process's: both ran 3 s from the common start, and the totals add up.
    const r = JSON.parse(c.stdout) as DistributedResult;
    for (const p of r.processes) {
      expect(p.result!.durationSeconds).toBeGreaterThanOrEqual(3);
      expect(p.result!.durationSeconds).toBeLessThan(4);
    }
    expect(r.total).toBe(r.processes[0]!.result!.total + r.processes[1]!.result!.total);
    expect(r.total).toBeGreaterThan(0);
    expect(await benchKeys(admin)).toBe(0);
    await expectUnharmed(admin, cluster.endpoints[0]!, user, before);
  });
});
