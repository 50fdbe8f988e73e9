import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDiskCheck } from '../../src/loadgen/disk-check.js';
import { startSidecar } from '../../src/loadgen/sidecar.js';
import { DEFAULT_SLO } from '../../src/loadgen/slo.js';
import { createLogger } from '../../src/util/logger.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';

const execFileAsync = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

/** Runs `promtool check metrics` on exposition text; resolves with its output, rejects on lint problems. */
async function promtoolCheck(text: string, dir: string): Promise<string> {
  const file = path.join(dir, `metrics-${Date.now()}.txt`);
  await writeFile(file, text);
  const { stdout, stderr } = await execFileAsync('sh', ['-c', `${PROMTOOL} check metrics < "${file}"`]);
  return stdout + stderr;
}

describe('disk check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'disk-check-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('does one fdatasync per 2300-byte write and leaves no file behind', () => {
    const r = runDiskCheck({ dir, totalBytes: 1024 * 1024 });
    expect(r.syncs).toBe(Math.floor((1024 * 1024) / 2300));
    expect(r.blockSize).toBe(2300);
    expect(r.fdatasync.p50Ms).toBeGreaterThan(0);
    expect(r.fdatasync.p99Ms).toBeGreaterThanOrEqual(r.fdatasync.p50Ms);
    expect(r.fdatasync.maxMs).toBeGreaterThanOrEqual(r.fdatasync.p99Ms);
    expect(r.passed).toBe(r.fdatasync.p99Ms < 10);
    expect(r.verdict).toMatch(r.passed ? /^PASS/ : /^FAIL/);
    return readdir(dir).then((files) => expect(files).toEqual([]));
  });

  it('CLI: --output prometheus is valid exposition for a textfile collector', async () => {
    const { stdout } = await execFileAsync(process.execPath, [
      '--import',
      'tsx',
      'src/cli.ts',
      'disk-check',
      '--dir',
      dir,
      '--size-mb',
      '1',
      '--output',
      'prometheus',
    ]).catch(
      (err: { stdout: string }) => ({ stdout: err.stdout }), // exit 1 only means the disk failed the verdict
    );
    expect(stdout).toMatch(
      /^etcd_monitor_benchmark_disk_fdatasync_seconds\{dir="[^"]+",quantile="0.99"\} [\d.e-]+$/m,
    );
    expect(stdout).toMatch(/^etcd_monitor_benchmark_disk_check_passed\{dir="[^"]+"\} [01]$/m);
    await promtoolCheck(stdout, dir);
  });
});

describe('benchmark sidecar', () => {
  let cluster: EtcdCluster;
  let tmp: string;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sidecar-'));
  });
  afterAll(async () => {
    await cluster?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('runs each workload, exposes results on its own /metrics, and promtool accepts them', async () => {
    const results: string[] = [];
    const sidecar = await startSidecar({
      bench: {
        endpoints: cluster.endpoints,
        ops: 1500,
        clients: 16,
        conns: 4,
        keySize: 8,
        valSize: 256,
        keySpace: 500,
        sequentialKeys: false,
        consistency: 's',
        client: 'lean',
        readRatio: 0.7,
        slo: DEFAULT_SLO,
        verdict: 'design-targets',
        dialTimeoutMs: 5000,
        requestTimeoutMs: 10_000,
      },
      workloads: ['write', 'read', 'mixed'],
      scheduleMs: 3_600_000,
      host: '127.0.0.1',
      port: 0,
      diskDir: path.join(tmp, 'disk'),
      diskBytes: 512 * 1024,
      log: createLogger('silent', 'json'),
      onResult: (r) => results.push(r.type),
    });
    try {
      await sidecar.idle();
      expect(results).toEqual(['write', 'read', 'mixed']);
      const res = await fetch(`${sidecar.url}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      await promtoolCheck(text, tmp);

      for (const [workload, op] of [
        ['write', 'write'],
        ['read', 'read'],
        ['mixed', 'read'],
        ['mixed', 'write'],
      ]) {
        const labels = `workload="${workload}",operation="${op}"`;
        expect(text).toMatch(
          new RegExp(`^etcd_monitor_benchmark_throughput_ops_per_second\\{${labels}\\} [\\d.]+$`, 'm'),
        );
        expect(text).toMatch(
          new RegExp(
            `^etcd_monitor_benchmark_last_run_latency_seconds\\{${labels},quantile="0.99"\\} [\\d.e-]+$`,
            'm',
          ),
        );
        // Exact 100 ms bucket edge, so the P99 < 100 ms SLO can be judged from the histogram.
        expect(text).toMatch(
          new RegExp(
            `^etcd_monitor_benchmark_request_duration_seconds_bucket\\{le="0.1",${labels}\\} \\d+$`,
            'm',
          ),
        );
      }
      const count =
        /^etcd_monitor_benchmark_request_duration_seconds_count\{workload="write",operation="write"\} (\d+)$/m.exec(
          text,
        );
      expect(Number(count?.[1])).toBe(1500);
      expect(text).toMatch(
        /^etcd_monitor_benchmark_requests_total\{workload="write",operation="write"\} 1500$/m,
      );
      // 3 members on a shared 2-core machine cannot do 20k writes/s: the verdict is FAIL, exposed as 0.
      expect(text).toMatch(/^etcd_monitor_benchmark_slo_passed\{workload="write"\} 0$/m);
      expect(text).toMatch(/^etcd_monitor_benchmark_slo_target\{target="p99_latency_seconds"\} 0.1$/m);
      expect(text).toMatch(/^etcd_monitor_benchmark_runs_total\{workload="read",result="completed"\} 1$/m);
      const last = /^etcd_monitor_benchmark_last_run_timestamp_seconds\{workload="mixed"\} ([\d.e+]+)$/m.exec(
        text,
      );
      expect(Math.abs(Number(last?.[1]) - Date.now() / 1000)).toBeLessThan(120);
      expect(text).toMatch(/^etcd_monitor_benchmark_disk_check_passed\{dir="[^"]+"\} [01]$/m);
      expect(text).toMatch(/^etcd_monitor_benchmark_disk_fdatasync_seconds_count\{dir="[^"]+"\} 227$/m);
    } finally {
      await sidecar.close();
    }
  });

  it('counts a run that cannot start as an error run instead of dying', async () => {
    const sidecar = await startSidecar({
      bench: {
        endpoints: ['http://127.0.0.1:1'],
        ops: 10,
        clients: 1,
        conns: 1,
        keySize: 8,
        valSize: 8,
        keySpace: 10,
        sequentialKeys: false,
        consistency: 'l',
        client: 'lean',
        readRatio: 0.7,
        slo: DEFAULT_SLO,
        dialTimeoutMs: 500,
        requestTimeoutMs: 1000,
      },
      workloads: ['write'],
      scheduleMs: 3_600_000,
      host: '127.0.0.1',
      port: 0,
      log: createLogger('silent', 'json'),
    });
    try {
      await sidecar.idle();
      const text = await (await fetch(`${sidecar.url}/metrics`)).text();
      expect(text).toMatch(/^etcd_monitor_benchmark_runs_total\{workload="write",result="error"\} 1$/m);
      await promtoolCheck(text, tmp);
    } finally {
      await sidecar.close();
    }
  });
});
