import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBenchmark } from '../../src/loadgen/run.js';
import type { BenchOptions } from '../../src/loadgen/spec.js';
import { DEFAULT_SLO } from '../../src/loadgen/slo.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';

const execFileAsync = promisify(execFile);

/** Small, fast runs: the point here is correctness against a real cluster, not speed. */
function options(cluster: EtcdCluster, over: Partial<BenchOptions>): BenchOptions {
  return {
    endpoints: cluster.endpoints,
    workload: 'write',
    ops: 1500,
    clients: 16,
    conns: 4,
    keySize: 8,
    valSize: 256,
    keySpace: 500,
    sequentialKeys: false,
    consistency: 'l',
    client: 'lean',
    readRatio: 0.7,
    slo: DEFAULT_SLO,
    dialTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    ...over,
  };
}

describe('benchmark against a real 3-member cluster', () => {
  let cluster: EtcdCluster;
  let admin: Etcd3;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    admin = new Etcd3({ hosts: cluster.endpoints });
  });
  afterAll(async () => {
    admin?.close();
    await cluster?.destroy();
  });

  it('write: every call succeeds, sequential keys land in etcd as the Go loader encodes them', async () => {
    const r = await runBenchmark(
      options(cluster, { workload: 'write', ops: 1000, keySpace: 1000, sequentialKeys: true }),
    );
    expect(r).toMatchObject({ type: 'write', total: 1000, successful: 1000, failed: 0 });
    expect(r.operations.write?.latency.count).toBe(1000);
    expect(r.operations.read).toBeUndefined();
    expect(r.latency.p50Ms).toBeGreaterThan(0);
    expect(r.latency.p99Ms).toBeGreaterThanOrEqual(r.latency.p50Ms);
    expect(r.latency.maxMs).toBeGreaterThanOrEqual(r.latency.p99Ms);
    expect(r.clientCpu.microsPerOp).toBeGreaterThan(0);
    // Key 300 is binary.PutVarint(300) into 8 zero bytes (zigzag 600 = 0xd8 0x04) after the run's
    // prefix; deleted afterwards, but readable at the revision before the delete (no compaction).
    const key = Buffer.concat([Buffer.from(r.cleanup.prefix), Buffer.from([0xd8, 0x04, 0, 0, 0, 0, 0, 0])]);
    expect(await admin.get(key).exists()).toBe(false);
    const v = await admin
      .get(key)
      .revision(r.cleanup.deleteRevision - 1)
      .buffer();
    expect(v).toEqual(Buffer.alloc(256, 'v'));
  });

  it.each(['l', 's'] as const)(
    'read (consistency %s): populated key space, all point reads succeed',
    async (consistency) => {
      const r = await runBenchmark(
        options(cluster, { workload: 'read', consistency, prefix: `/t-read-${consistency}/` }),
      );
      expect(r).toMatchObject({ type: 'read', total: 1500, successful: 1500, failed: 0 });
      expect(r.conditions.consistency).toBe(consistency);
      expect(r.operations.read?.latency.count).toBe(1500);
      expect(r.operations.write).toBeUndefined();
    },
  );

  it('mixed: roughly 70 % reads, both operations reported separately', async () => {
    const r = await runBenchmark(options(cluster, { workload: 'mixed', ops: 3000, prefix: '/t-mixed/' }));
    expect(r).toMatchObject({ type: 'mixed', total: 3000, successful: 3000, failed: 0 });
    const reads = r.operations.read!.successful;
    expect(reads + r.operations.write!.successful).toBe(3000);
    expect(reads / 3000).toBeGreaterThan(0.62);
    expect(reads / 3000).toBeLessThan(0.78);
  });

  it('--prefix: afterwards the prefix is empty; nothing is compacted (its history stays readable)', async () => {
    const prefix = '/t-prefix/';
    const r = await runBenchmark(
      options(cluster, { workload: 'write', ops: 800, keySpace: 800, sequentialKeys: true, prefix }),
    );
    expect(r.cleanup).toMatchObject({ prefix, deletedKeys: 800, compactedRevision: null });
    expect(Number(await admin.getAll().prefix(prefix).count())).toBe(0);
    const before = r.cleanup.deleteRevision - 1;
    expect(await admin.getAll().prefix(prefix).revision(before).count()).toBe(800);
  });

  it('refuses a prefix that already holds keys (it would be deleted afterwards)', async () => {
    await admin.put('/t-busy/user-key').value('keep me');
    await expect(runBenchmark(options(cluster, { prefix: '/t-busy/' }))).rejects.toMatchObject({
      code: 'BENCH_PREFIX_NOT_EMPTY',
    });
    expect(await admin.get('/t-busy/user-key').string()).toBe('keep me');
  });

  it('open loop (--rate): holds the rate and measures from the intended start', async () => {
    const r = await runBenchmark(
      options(cluster, { workload: 'write', ops: 600, rate: 400, prefix: '/t-rate/' }),
    );
    expect(r.successful).toBe(600);
    expect(r.conditions.loop).toMatch(/open/);
    // 600 calls at 400/s cannot finish much before 1.5 s.
    expect(r.durationSeconds).toBeGreaterThan(1.4);
    expect(r.throughput).toBeLessThan(440);
  });

  it('--duration: stops issuing at the deadline', async () => {
    const r = await runBenchmark(
      options(cluster, {
        workload: 'read',
        ops: undefined,
        durationMs: 1500,
        consistency: 's',
        prefix: '/t-dur/',
      }),
    );
    expect(r.successful).toBeGreaterThan(100);
    expect(r.durationSeconds).toBeGreaterThan(1.4);
    expect(r.durationSeconds).toBeLessThan(1.5 + 10);
  });

  it('--workers 2: the load runs on two threads, every call is counted once and keys stay sequential', async () => {
    const r = await runBenchmark(
      options(cluster, {
        workload: 'write',
        ops: 1000,
        keySpace: 1000,
        sequentialKeys: true,
        workers: 2,
        prefix: '/t-workers/',
      }),
    );
    expect(r).toMatchObject({ total: 1000, successful: 1000, failed: 0, conditions: { workers: 2 } });
    expect(r.operations.write?.latency.count).toBe(1000);
    // Both threads' interleaved sequences cover keys 0..999 exactly.
    expect(r.cleanup?.deletedKeys).toBe(1000);
  });

  it('etcd3 client path gives the same result shape', async () => {
    const r = await runBenchmark(
      options(cluster, { workload: 'mixed', client: 'etcd3', ops: 600, prefix: '/t-etcd3/' }),
    );
    expect(r).toMatchObject({ total: 600, successful: 600, failed: 0, conditions: { client: 'etcd3' } });
  });

  it('a member going away mid-run: errors are counted by gRPC code, never retried', async () => {
    const victim = ((await cluster.leaderIndex()) + 1) % 3;
    // One connection per member; clients on the victim's connection fail fast with UNAVAILABLE.
    const run = runBenchmark(
      options(cluster, {
        workload: 'write',
        ops: 20_000,
        clients: 6,
        conns: 3,
        keySpace: 1000,
        prefix: '/t-fail/',
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    await cluster.stop(victim);
    const r = await run.finally(async () => {
      await cluster.restart(victim);
      await cluster.waitHealthy();
    });
    expect(r.total).toBe(20_000); // every call counted once: no silent retries
    expect(r.failed).toBeGreaterThan(0);
    expect(r.errorsByCode['UNAVAILABLE']).toBe(r.failed);
    expect(r.successful + r.failed).toBe(20_000);
    expect(r.slo.passed).toBe(false);
    // The default verdict is check perf's: any error fails it.
    expect(r.slo.checks.find((c) => c.name === 'errors')?.passed).toBe(false);
  });

  it('--run-benchmark (flags of the default command) prints the "=== Benchmark Results ===" block, and JSON with --output json', async () => {
    const base = [
      '--import',
      'tsx',
      'src/cli.ts',
      '--run-benchmark',
      '--benchmark-type=mixed',
      '--benchmark-ops=2000',
      `--endpoints=${cluster.endpoints.join(',')}`,
    ];
    const text = await execFileAsync(process.execPath, base, { timeout: 60_000 });
    for (const line of [
      '=== Benchmark Results ===',
      'Type:           mixed',
      'Total:          2000',
      'Successful:     2000',
      'Failed:         0',
      'Throughput:',
      'Average:',
      'P50:',
      'P95:',
      'P99:',
      'Min:',
      'Max:',
      'Conditions:',
      'Verdict check-perf (',
    ]) {
      expect(text.stdout).toContain(line);
    }
    const json = await execFileAsync(process.execPath, [...base, '--output', 'json'], { timeout: 60_000 });
    const r = JSON.parse(json.stdout) as {
      type: string;
      total: number;
      failed: number;
      latency: { p99Ms: number };
    };
    expect(r).toMatchObject({ type: 'mixed', total: 2000, failed: 0 });
    expect(r.latency.p99Ms).toBeGreaterThan(0);
  });

  it('bench subcommand with --profile s: check perf loads, exit 1 on FAIL only', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        'bench',
        '--profile',
        's',
        '--duration',
        '3s',
        `--endpoints=${cluster.endpoints.join(',')}`,
        '--output',
        'json',
      ],
      { timeout: 60_000 },
    ).catch((err: { stdout: string; code: number }) => ({ stdout: err.stdout, code: err.code }));
    const r = JSON.parse(stdout) as {
      profile: string;
      conditions: Record<string, unknown>;
      slo: { passed: boolean; checks: { name: string }[] };
      cleanup: { deletedKeys: number };
    };
    expect(r.profile).toBe('s');
    expect(r.conditions).toMatchObject({ clients: 50, conns: 50, keySize: 256, valSize: 1024, rate: 150 });
    expect(r.slo.checks.map((c) => c.name)).toEqual([
      'errors',
      'throughput_ratio_of_limit',
      'slowest_request_ms',
      'stddev_ms',
    ]);
    expect(r.cleanup.deletedKeys).toBeGreaterThan(300);
  });
});
