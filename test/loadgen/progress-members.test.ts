import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';

// The real CLI process: on a terminal (a pseudo-terminal from util-linux `script`) bench, check and
// disk-check draw a progress line on stderr; piped, they write nothing there. A benchmark runs on the
// members that answer and names the one that is down; below quorum it refuses.
const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli.ts'];

interface Done {
  stdout: string;
  stderr: string;
  code: number;
}

/** The CLI with plain pipes (stderr is not a TTY). */
async function piped(args: string[]): Promise<Done> {
  try {
    const r = await run(process.execPath, [...CLI, ...args], { timeout: 120_000 });
    return { ...r, code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

const sh = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The CLI under a pseudo-terminal: stdout and stderr both are the TTY; returns what it showed. */
async function onTty(args: string[]): Promise<string> {
  const cmd = [process.execPath, ...CLI, ...args].map(sh).join(' ');
  const r = await run('script', ['-qfec', cmd, '/dev/null'], { timeout: 120_000 });
  return r.stdout;
}

/** Progress lines as drawn: "\r<phase>: N ops, R ops/s, elapsed Xs, ETA Ys". */
const progressLines = (out: string, unit: string): string[] =>
  [
    ...out.matchAll(
      new RegExp(
        `\\r([^\\r\\n]*: \\d+(?:/\\d+)? ${unit}, \\d+ ${unit}/s, elapsed \\d+s, ETA (?:\\d+s|\\?))`,
        'g',
      ),
    ),
  ].map((m) => m[1]!);

describe('progress on a TTY, members left out, verdicts (real CLI, real 3-member cluster)', () => {
  let cluster: EtcdCluster;
  let tmp: string;
  let endpoints: string;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    endpoints = `--endpoints=${cluster.endpoints.join(',')}`;
    tmp = await mkdtemp(path.join(os.tmpdir(), 'progress-'));
  });
  afterAll(async () => {
    await cluster?.destroy();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('bench on a TTY: a progress line with ops/s, elapsed and ETA, cleared before the report', async () => {
    const out = await onTty([
      'bench',
      '--type',
      'write',
      '--duration',
      '3s',
      '--clients',
      '8',
      '--conns',
      '2',
      endpoints,
    ]);
    const lines = progressLines(out, 'ops');
    expect(lines.length, out).toBeGreaterThanOrEqual(2);
    expect(lines.every((l) => l.startsWith('write: '))).toBe(true);
    // ETA counts down from the 3 s duration.
    expect(lines.some((l) => /ETA [0-3]s$/.test(l))).toBe(true);
    // The line is cleared (\r, erase to end of line) before the report starts.
    expect(out).toContain('\r\x1b[K=== Benchmark Results ===');
  });

  it('bench piped: nothing on stderr, the report alone on stdout', async () => {
    const r = await piped([
      'bench',
      '--type',
      'write',
      '--duration',
      '2s',
      '--clients',
      '8',
      '--conns',
      '2',
      endpoints,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith('=== Benchmark Results ===\n')).toBe(true);
    expect(r.stdout.includes('\r') || r.stdout.includes('\x1b')).toBe(false);
  });

  it('check --with-benchmark on a TTY shows progress; piped it does not', async () => {
    const args = ['check', '--with-benchmark', '--bench-ops', '6000', endpoints];
    const out = await onTty(args);
    const lines = progressLines(out, 'ops');
    expect(lines.length, out).toBeGreaterThanOrEqual(1);
    expect(lines.every((l) => /^write benchmark: \d+\/6000 ops/.test(l))).toBe(true);
    expect(out).toContain('\r\x1b[K=== Production Readiness ===');
    const p = await piped(args);
    expect(p.stderr).toBe('');
    expect(p.stdout.startsWith('=== Production Readiness ===')).toBe(true);
  });

  it('disk-check on a TTY shows syncs/s and ETA; piped it does not', async () => {
    const args = ['disk-check', '--dir', tmp, '--output', 'json'];
    const out = await onTty(args);
    const lines = progressLines(out, 'syncs');
    expect(lines.length, out).toBeGreaterThanOrEqual(1);
    expect(lines.every((l) => /^fdatasync: \d+\/10029 syncs/.test(l))).toBe(true);
    const p = await piped(args);
    expect(p.stderr).toBe('');
    expect(JSON.parse(p.stdout)).toMatchObject({ syncs: 10029 });
  });

  it('default verdict is check perf criteria; --verdict design-targets gives the 40k/20k verdict', async () => {
    const base = [
      'bench',
      '--type',
      'write',
      '--ops',
      '1000',
      '--clients',
      '8',
      '--conns',
      '2',
      '--output',
      'json',
      endpoints,
    ];
    const def = JSON.parse((await piped(base)).stdout) as {
      slo: { verdict: string; targets: unknown; checks: { name: string }[] };
    };
    expect(def.slo.verdict).toBe('check-perf');
    expect(def.slo.targets).toBe('etcdctl check perf criteria, closed loop (no throughput limit)');
    expect(def.slo.checks.map((c) => c.name)).toEqual(['errors', 'slowest_request_ms', 'stddev_ms']);

    const rated = JSON.parse((await piped([...base, '--rate', '200'])).stdout) as {
      slo: { checks: { name: string }[] };
    };
    expect(rated.slo.checks.map((c) => c.name)).toContain('throughput_ratio_of_limit');

    const design = await piped([...base, '--verdict', 'design-targets', '--fail-on-slo']);
    const d = JSON.parse(design.stdout) as {
      throughput: number;
      slo: {
        verdict: string;
        passed: boolean;
        targets: unknown;
        checks: { name: string; passed: boolean }[];
      };
    };
    expect(d.slo.verdict).toBe('design-targets');
    expect(d.slo.targets).toEqual({
      readOpsPerSec: 40_000,
      writeOpsPerSec: 20_000,
      p99Ms: 100,
      maxErrorRatio: 0,
    });
    expect(d.slo.checks.map((c) => c.name)).toEqual([
      'throughput_ops_per_second',
      'p99_latency_ms',
      'error_ratio',
    ]);
    // As before: a write run below 20,000/s fails the throughput target, and --fail-on-slo exits 1.
    expect(d.throughput).toBeLessThan(20_000);
    expect(d.slo.checks[0]!.passed).toBe(false);
    expect(d.slo.passed).toBe(false);
    expect(design.code).toBe(1);
  });

  it('one of 3 members stopped: the run uses the other two and names the stopped one with its code', async () => {
    const victim = cluster.members[2]!;
    await cluster.stop(2);
    try {
      const r = await piped([
        'bench',
        '--type',
        'write',
        '--ops',
        '500',
        '--clients',
        '8',
        '--conns',
        '2',
        '--output',
        'json',
        endpoints,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as {
        failed: number;
        conditions: { endpoints: string[] };
        membersLeftOut: { name: string; endpoint: string; code: string }[];
      };
      expect(j.failed).toBe(0);
      expect(j.membersLeftOut).toEqual([
        expect.objectContaining({
          name: victim.name,
          endpoint: victim.clientUrl,
          code: 'CONNECTION_REFUSED',
        }),
      ]);
      expect(j.conditions.endpoints.sort()).toEqual(
        cluster.endpoints.filter((e) => e !== victim.clientUrl).sort(),
      );
      const text = await piped([
        'bench',
        '--type',
        'write',
        '--ops',
        '200',
        '--clients',
        '4',
        '--conns',
        '2',
        endpoints,
      ]);
      expect(text.stdout).toMatch(
        new RegExp(`Left out: +${victim.name} ${victim.clientUrl} — CONNECTION_REFUSED`),
      );

      // Two of 3 down: no quorum, refused with the reason (and no load sent).
      await cluster.stop(1);
      const refused = await piped(['bench', '--type', 'write', '--ops', '200', endpoints]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/only 1 of 3 voting members answer .*a benchmark needs a quorum of 2/);
    } finally {
      await cluster.restart(1).catch(() => undefined);
      await cluster.restart(2);
      await cluster.waitHealthy();
    }
  });
});
