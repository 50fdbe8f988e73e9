import net from 'node:net';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stopBenchmarkRuns } from '../../src/loadgen/active-runs.js';
import { runBenchmark } from '../../src/loadgen/run.js';
import type { BenchOptions } from '../../src/loadgen/spec.js';
import { DEFAULT_SLO } from '../../src/loadgen/slo.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';
import {
  benchKeys,
  expectUnharmed,
  keyspaceOutsideBench,
  seedUserKeys,
  USER_KEY,
  type UserKeys,
} from './keyspace.js';
import { startBenchApi, type BenchApi } from './bench-api.js';

// "Never harm the watched cluster" (issue 11) for every benchmark path: the library run, `bench`,
// `--run-benchmark`, `bench --serve`, the REST API and `check`, finished, failed and interrupted
// (SIGINT, SIGTERM, an API client that went away, exporter shutdown). Before each: a user key written
// three times plus other user keys; after: all three revisions readable with etcdctl get --rev, every
// key outside /etcd-monitor/bench/ unchanged (value, create/mod revision, version, lease), nothing left
// under it. The one test that compacts (--compact) runs last.

const ROOT = path.resolve(import.meta.dirname, '../..');

function cli(args: string[]): TrackedProcess {
  return spawnTracked(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    label: 'etcd-monitor',
    cwd: ROOT,
  });
}

async function exitOf(p: TrackedProcess, timeoutMs = 90_000): Promise<{ code: number | null; out: string }> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const info = await p.exited;
  clearTimeout(timer);
  return { code: info.code, out: p.output() };
}

describe('benchmarks leave the watched cluster as they found it', () => {
  let cluster: EtcdCluster;
  let admin: Etcd3;
  let user: UserKeys;
  let before: string[];
  let endpoints: string;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    admin = new Etcd3({ hosts: cluster.endpoints });
    user = await seedUserKeys(admin);
    endpoints = `--endpoints=${cluster.endpoints.join(',')}`;
  });
  afterAll(async () => {
    admin?.close();
    await cluster?.destroy();
  });
  beforeEach(async () => {
    before = await keyspaceOutsideBench(admin);
  });
  const unharmed = () => expectUnharmed(admin, cluster.endpoints[0]!, user, before);

  const options = (over: Partial<BenchOptions>): BenchOptions => ({
    endpoints: cluster.endpoints,
    workload: 'mixed',
    ops: 1500,
    clients: 16,
    conns: 4,
    keySize: 8,
    valSize: 64,
    keySpace: 300,
    sequentialKeys: false,
    consistency: 'l',
    client: 'lean',
    readRatio: 0.7,
    slo: DEFAULT_SLO,
    dialTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    ...over,
  });

  it('a run writes only under its own /etcd-monitor/bench/<run-id>/, reads keys seeded there, deletes them, never compacts', async () => {
    const outside: string[] = [];
    let puts = 0;
    // The whole keyspace: key \0 with range end \0 (etcd's "every key >= key").
    const watcher = await admin
      .watch()
      .inRange({ start: Buffer.from([0]), end: Buffer.from([0]) })
      .create();
    watcher.on('put', (kv) => {
      puts++;
      if (!kv.key.toString('latin1').startsWith('/etcd-monitor/bench/run-a/'))
        outside.push(kv.key.toString('hex'));
    });
    try {
      const r = await runBenchmark(options({ workload: 'mixed', runId: 'run-a' }));
      expect(r).toMatchObject({ runId: 'run-a', successful: 1500, failed: 0 });
      expect(r.cleanup).toMatchObject({
        prefix: '/etcd-monitor/bench/run-a/',
        deletedKeys: 300,
        compactedRevision: null,
      });
      await waitFor(() => puts >= 300 + 1500 * 0.2, { what: 'watch events', timeoutMs: 20_000 });
    } finally {
      await watcher.cancel();
    }
    // Every put of the run (the seeding of the read keys included) was under the run's prefix.
    expect(outside).toEqual([]);
    await unharmed();
  });

  it('read workload with a user-given empty prefix: keys seeded and deleted there', async () => {
    const r = await runBenchmark(options({ workload: 'read', prefix: '/mybench/', ops: 600 }));
    expect(r).toMatchObject({ successful: 600, cleanup: { prefix: '/mybench/', deletedKeys: 300 } });
    expect(Number(await admin.getAll().prefix('/mybench/').count())).toBe(0);
    await unharmed();
  });

  it('an empty prefix (the whole keyspace) and a non-empty prefix are refused; nothing is touched', async () => {
    await expect(runBenchmark(options({ prefix: '' }))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(runBenchmark(options({ prefix: '/app/' }))).rejects.toMatchObject({
      code: 'BENCH_PREFIX_NOT_EMPTY',
    });
    const p = cli(['bench', endpoints, '--prefix', '/app/users/', '--ops', '100']);
    const { code, out } = await exitOf(p);
    expect(code).toBe(2);
    expect(out).toMatch(/invalid configuration: prefix: prefix "\/app\/users\/" already holds 2 keys/);
    await unharmed();
  });

  it('a run that fails (a member stops while the read keys are seeded) still deletes what it wrote', async () => {
    const leader = await cluster.leaderIndex();
    const victim = (leader + 1) % 3;
    const run = runBenchmark(
      options({ workload: 'read', keySpace: 200_000, clients: 6, conns: 3, valSize: 8, ops: 100 }),
    );
    await waitFor(async () => (await benchKeys(admin)) > 1000, {
      what: 'seeding under way',
      timeoutMs: 30_000,
    });
    await cluster.stop(victim);
    try {
      await expect(run).rejects.toMatchObject({ code: 'BENCH_POPULATE_FAILED' });
    } finally {
      await cluster.restart(victim);
      await cluster.waitHealthy();
    }
    await unharmed();
  });

  it.each([
    ['two worker threads', { workers: 2 }],
    ['the open loop (--rate)', { rate: 2000 }],
  ] as const)('an aborted run on %s stops, deletes its keys and says so', async (_, over) => {
    const controller = new AbortController();
    const run = runBenchmark(
      options({
        workload: 'write',
        ops: 2_000_000,
        clients: 8,
        conns: 2,
        signal: controller.signal,
        ...over,
      }),
    );
    await waitFor(async () => (await benchKeys(admin)) >= 200, { what: 'run under way', timeoutMs: 30_000 });
    controller.abort();
    const err = (await run.catch((e: unknown) => e)) as { code: string; cleanup: { deletedKeys: number } };
    expect(err.code).toBe('BENCH_INTERRUPTED');
    expect(err.cleanup.deletedKeys).toBeGreaterThanOrEqual(200);
    await unharmed();
  });

  it('discovers the members from one seed endpoint and loads all of them', async () => {
    const r = await runBenchmark(
      options({ endpoints: [cluster.endpoints[1]!], discoverMembers: true, ops: 300, conns: 3 }),
    );
    expect([...r.conditions.endpoints].sort()).toEqual([...cluster.endpoints].sort());
    await unharmed();
  });

  it('CLI bench (json) and --run-benchmark: default prefix, cleaned, no compaction', async () => {
    const bench = await exitOf(
      cli(['bench', endpoints, '--type', 'mixed', '--ops', '500', '--key-space', '200', '--output', 'json']),
    );
    expect(bench.code).toBe(0);
    const r = JSON.parse(bench.out.slice(bench.out.indexOf('{'))) as {
      runId: string;
      cleanup: { prefix: string; deletedKeys: number; compactedRevision: number | null };
    };
    expect(r.cleanup).toEqual(
      expect.objectContaining({ prefix: `/etcd-monitor/bench/${r.runId}/`, compactedRevision: null }),
    );
    const seed = await exitOf(
      cli([endpoints, '--run-benchmark', '--benchmark-type=write', '--benchmark-ops=300']),
    );
    expect(seed.code).toBe(0);
    expect(seed.out).toMatch(
      /Cleanup: deleted the run's \d+ keys under "\/etcd-monitor\/bench\/[0-9a-f-]{36}\/"/,
    );
    expect(seed.out).toContain("no compaction (every key's history kept)");
    await unharmed();
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'CLI bench interrupted by %s mid-run: stops, deletes its keys, exits 128+signal',
    async (sig) => {
      const p = cli([
        'bench',
        endpoints,
        '--type',
        'mixed',
        '--ops',
        '2000000',
        '--clients',
        '8',
        '--conns',
        '2',
      ]);
      try {
        await waitFor(async () => (await benchKeys(admin)) >= 200, {
          what: 'run under way',
          timeoutMs: 30_000,
        });
        p.child.kill(sig);
        const { code, out } = await exitOf(p, 30_000);
        expect(code).toBe(sig === 'SIGINT' ? 130 : 143);
        expect(out).toMatch(new RegExp(`${sig}: stopping the benchmark and deleting its keys`));
        expect(out).toMatch(/benchmark interrupted; deleted its \d+ keys under "\/etcd-monitor\/bench\//);
      } finally {
        await terminate(p, 'SIGKILL', 1000);
      }
      await unharmed();
    },
  );

  it('sidecar (bench --serve) stopped by SIGTERM mid-run deletes its keys', async () => {
    const port = await freePort();
    const p = cli([
      'bench',
      '--serve',
      endpoints,
      '--type',
      'write',
      '--ops',
      '2000000',
      '--clients',
      '8',
      '--conns',
      '2',
      '--listen',
      `127.0.0.1:${port}`,
    ]);
    try {
      await waitFor(async () => (await benchKeys(admin)) >= 200, { what: 'sidecar run', timeoutMs: 30_000 });
      p.child.kill('SIGTERM');
      const { code } = await exitOf(p, 30_000);
      expect(code).toBe(0);
    } finally {
      await terminate(p, 'SIGKILL', 1000);
    }
    await unharmed();
  });

  describe('REST API', () => {
    let api: BenchApi | undefined;
    let base: string;

    beforeAll(async () => {
      api = await startBenchApi(cluster.endpoints, 'bench-safety-');
      base = api.base;
    });
    afterAll(async () => {
      await api?.close();
    });

    const post = (body: unknown) =>
      fetch(base, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const finished = (id: string) =>
      waitFor(
        async () => {
          const run = (await (await fetch(`${base}/${id}`)).json()) as { status: string };
          return run.status === 'running' ? undefined : (run as Record<string, unknown>);
        },
        { what: `API run ${id}`, timeoutMs: 60_000 },
      );

    it('a non-empty prefix is refused with 409 JSON before anything runs; an empty string with 400', async () => {
      const res = await post({ type: 'write', ops: 10, prefix: '/app/' });
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BENCH_PREFIX_NOT_EMPTY');
      const empty = await post({ type: 'write', ops: 10, prefix: '' });
      expect(empty.status).toBe(400);
      const compact = await post({ type: 'write', ops: 10, compact: 'yes' });
      expect(compact.status).toBe(400);
      await unharmed();
    });

    it('a run whose HTTP client went away right after sending it completes and deletes its keys', async () => {
      const { port } = new URL(base);
      const body = JSON.stringify({ type: 'mixed', ops: 3000, clients: 8, conns: 2, keySpace: 300 });
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => {
          socket.end(
            `POST /api/v1/performance/benchmark HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
          // Gone before the 202 is read.
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      });
      const list = await waitFor(
        async () => {
          const l = (await (await fetch(base)).json()) as { running: unknown; comparison: { id: string }[] };
          return l.running === null && l.comparison.length > 0 ? l : undefined;
        },
        { what: 'the abandoned run to finish', timeoutMs: 60_000 },
      );
      const run = (await finished(list.comparison.at(-1)!.id)) as {
        status: string;
        result: { cleanup: { prefix: string; deletedKeys: number; compactedRevision: null } };
      };
      expect(run.status).toBe('completed');
      expect(run.result.cleanup).toMatchObject({ deletedKeys: 300, compactedRevision: null });
      expect(run.result.cleanup.prefix).toMatch(/^\/etcd-monitor\/bench\/[0-9a-f-]{36}\/$/);
      await unharmed();
    });

    it('exporter shutdown interrupts an API run and waits until its keys are deleted', async () => {
      const res = await post({ type: 'write', ops: 100_000, durationSeconds: 60, clients: 8, conns: 2 });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      await waitFor(async () => (await benchKeys(admin)) >= 200, {
        what: 'API run under way',
        timeoutMs: 30_000,
      });
      await stopBenchmarkRuns();
      expect(await benchKeys(admin)).toBe(0);
      const run = (await finished(id)) as { status: string; error: { code: string } };
      expect(run).toMatchObject({ status: 'failed', error: { code: 'BENCH_INTERRUPTED' } });
      await unharmed();
    });
  });

  it("the exporter process stopped by SIGTERM during an API run deletes the run's keys before it exits", async () => {
    const exporter = await startExporter({
      args: ['--endpoints', cluster.endpoints.join(','), '--web.enable-benchmark-api', '--no-probe'],
    });
    try {
      const res = await fetch(`${exporter.url}/api/v1/performance/benchmark`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'write', ops: 100_000, durationSeconds: 60, clients: 8, conns: 2 }),
      });
      expect(res.status).toBe(202);
      await waitFor(async () => (await benchKeys(admin)) >= 200, {
        what: 'API run under way',
        timeoutMs: 30_000,
      });
      const exit = await terminate(exporter.proc, 'SIGTERM', 8000);
      expect(exit.code).toBe(0);
    } finally {
      await exporter.stop();
    }
    await unharmed();
  });

  describe('check', () => {
    it('without --with-benchmark writes nothing (cluster revision unchanged) and says the benchmark was not run', async () => {
      const rev0 = Number((await admin.maintenance.status()).header.revision);
      const { code, out } = await exitOf(cli(['check', `--endpoints=${cluster.endpoints[0]}`]));
      expect(out).toContain('READY (no critical findings)');
      expect(out).toContain('Benchmark: not run (read-only');
      expect(code).toBe(0);
      expect(Number((await admin.maintenance.status()).header.revision)).toBe(rev0);
      await unharmed();
    });

    it('with --with-benchmark: a short write benchmark under its own prefix, deleted, no compaction', async () => {
      const { code, out } = await exitOf(
        cli(['check', endpoints, '--with-benchmark', '--bench-ops', '300', '--output', 'json']),
      );
      expect(code).toBe(0);
      const r = JSON.parse(out.slice(out.indexOf('{'))) as {
        bench: { total: number; cleanup: { deletedKeys: number; compactedRevision: number | null } };
      };
      expect(r.bench).toMatchObject({ total: 300, cleanup: { deletedKeys: 300, compactedRevision: null } });
      await unharmed();
    });

    it('one seed endpoint: a stopped member that is not in --endpoints makes it NOT READY', async () => {
      const leader = await cluster.leaderIndex();
      const victim = (leader + 1) % 3;
      const seed = (leader + 2) % 3;
      await cluster.stop(victim);
      try {
        const { code, out } = await exitOf(
          cli([
            'check',
            `--endpoints=${cluster.endpoints[seed]}`,
            '--request-timeout',
            '2s',
            '--dial-timeout',
            '2s',
          ]),
        );
        expect(out).toContain(`${cluster.endpoints[victim]} (${cluster.members[victim]!.name}): UNREACHABLE`);
        expect(out).toContain('NOT READY');
        expect(code).toBe(1);
      } finally {
        await cluster.restart(victim);
        await cluster.waitHealthy();
      }
    });
  });

  // Last: it compacts, after which older revisions are gone by design.
  it('--compact compacts the whole cluster and says so, in --help and in the output', async () => {
    const help = await exitOf(cli(['bench', '--help']));
    // yargs wraps help at the terminal width, even inside words: compare without whitespace.
    expect(help.out.replace(/\s+/g, '')).toContain(
      "--compactAfterdeletingtherun'skeys,compacttheclusteratthatrevision.Compactioniscluster-wide:itremoveseverykey'shistory",
    );
    const { code, out } = await exitOf(
      cli(['bench', endpoints, '--type', 'write', '--ops', '200', '--compact']),
    );
    expect(code).toBe(0);
    const m = /compacted the whole cluster at revision (\d+) \(--compact: compaction is cluster-wide/.exec(
      out,
    );
    expect(m).not.toBeNull();
    await expect(admin.get(USER_KEY).revision(user.revisions[0]!).string()).rejects.toThrow(/compacted/);
    expect(await benchKeys(admin)).toBe(0);
    expect(await admin.get(USER_KEY).string()).toBe('v3');
  });
});
