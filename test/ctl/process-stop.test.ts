// The real `etcd-monitor ctl` process stops at --timeout, on SIGINT/SIGTERM and against unreachable
// endpoints (issue 14: `watch --timeout 5` ran for 10 minutes and ignored Ctrl-C against an unreachable
// cluster; in-process tests with a reachable cluster never saw it).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';
import { ensureBuilt, GC_PRESSURE, runCli, spawnCli } from './process-helpers.js';

let cluster: EtcdCluster;
let ep: string;
/** A port where nothing listens: connections are refused. */
let refused: string;
/** A listener that accepts connections and never answers (a hung member, a firewall that lets SYN through). */
let silent: net.Server;
let silentUrl: string;
const silentSockets: net.Socket[] = [];
/** Wall time of a quick ctl command (process start, module loading, one request): the start-up cost. */
let startupMs: number;
/** The same under GC_PRESSURE. */
let startupGcMs: number;

const TIMEOUT_S = 3;
/** "Within 1 s of the timeout or signal", the bound. */
const SLACK_MS = 1_000;

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startCluster({ size: 1 });
  ep = cluster.endpoints[0] as string;
  refused = `http://127.0.0.1:${await freePort()}`;
  silent = net.createServer((s) => void silentSockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  // Start-up cost measured twice (the first also warms the file cache); the larger counts.
  const measure = async (nodeArgs: readonly string[]): Promise<number> => {
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['ctl', '--endpoints', ep, 'put', 'stop/k', 'v'], process.env, nodeArgs);
      expect(r.code, r.stderr).toBe(0);
      runs.push(r.ms);
    }
    return Math.max(...runs);
  };
  startupMs = await measure([]);
  startupGcMs = await measure(GC_PRESSURE);
}, 120_000);

afterAll(async () => {
  for (const s of silentSockets) s.destroy();
  await new Promise((r) => silent?.close(r));
  await cluster?.destroy();
});

/** Asserts a --timeout run took at least the timeout and ended within start-up + timeout + 1 s. */
function expectStoppedAtTimeout(ms: number, startup = startupMs): void {
  expect(ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000);
  expect(ms, `start-up ${Math.round(startup)}ms`).toBeLessThanOrEqual(startup + TIMEOUT_S * 1000 + SLACK_MS);
}

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

// Under GC pressure: Node 20 collected the AbortSignal.timeout behind --timeout before it fired, so the
// commands ran on forever whenever a garbage collection came first (issue 14's "still ran after 10 minutes").
describe('--timeout ends the real process (a full GC every 50 ms in it)', () => {
  it('watch on a live cluster: exit 0 at the timeout, events printed', async () => {
    const p = spawnCli(
      ['ctl', '--endpoints', ep, 'watch', 'stop/w', '--timeout', String(TIMEOUT_S)],
      process.env,
      GC_PRESSURE,
    );
    await p.waitFor('watching');
    const put = await runCli(['ctl', '--endpoints', ep, 'put', 'stop/w', 'seen']);
    expect(put.code, put.stderr).toBe(0);
    const { code, at } = await p.exited;
    expect(code, p.stderr()).toBe(0);
    expect(p.stdout()).toBe('PUT\nstop/w\nseen\n');
    expectStoppedAtTimeout(at - p.startedAt, startupGcMs);
  }, 60_000);

  it('lease keep-alive on a live cluster: exit 0 at the timeout after renewing', async () => {
    const grant = await runCli(['ctl', '--endpoints', ep, '--output', 'json', 'lease', 'grant', '60']);
    expect(grant.code, grant.stderr).toBe(0);
    const id = (JSON.parse(grant.stdout) as { id: string }).id;
    const run = await runCli(
      ['ctl', '--endpoints', ep, 'lease', 'keep-alive', id, '--timeout', String(TIMEOUT_S)],
      process.env,
      GC_PRESSURE,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`lease ${id.padStart(16, '0')} keepalived with TTL(60)`);
    expectStoppedAtTimeout(run.ms, startupGcMs);
  }, 60_000);

  it('watch against a listener that never answers: one-line error, exit 4, at the timeout', async () => {
    const run = await runCli(
      [
        'ctl',
        '--endpoints',
        silentUrl,
        '--command-timeout',
        '30s',
        'watch',
        'k',
        '--timeout',
        String(TIMEOUT_S),
      ],
      process.env,
      GC_PRESSURE,
    );
    expect(run.code).toBe(4);
    expect(oneLine(run.stderr)).toBe(
      `etcd-monitor ctl: watch k: no answer from ${silentUrl} within --timeout ${TIMEOUT_S}s`,
    );
    expectStoppedAtTimeout(run.ms, startupGcMs);
  }, 60_000);

  it('lease keep-alive against a listener that never answers: one-line error, exit 4, at the timeout', async () => {
    const run = await runCli(
      [
        'ctl',
        '--endpoints',
        silentUrl,
        '--command-timeout',
        '30s',
        'lease',
        'keep-alive',
        '1234',
        '--timeout',
        String(TIMEOUT_S),
      ],
      process.env,
      GC_PRESSURE,
    );
    expect(run.code).toBe(4);
    expect(oneLine(run.stderr)).toContain(`lease keep-alive 1234: no answer from ${silentUrl}`);
    expectStoppedAtTimeout(run.ms, startupGcMs);
  }, 60_000);
});

describe('unreachable endpoints without --timeout: a clear error within --command-timeout', () => {
  it('watch on a refused port names the refusal, exit 4', async () => {
    const run = await runCli(['ctl', '--endpoints', refused, '--command-timeout', '3s', 'watch', 'k']);
    expect(run.code).toBe(4);
    const line = oneLine(run.stderr);
    expect(line).toMatch(/^etcd-monitor ctl: watch k: .*ECONNREFUSED/);
    expect(line).not.toContain('Resolution note');
    expect(run.ms).toBeLessThanOrEqual(startupMs + 3_000 + SLACK_MS);
  }, 60_000);

  it('watch on a silent listener gives up after --command-timeout, exit 4', async () => {
    const run = await runCli(['ctl', '--endpoints', silentUrl, '--command-timeout', '3s', 'watch', 'k']);
    expect(run.code).toBe(4);
    expect(oneLine(run.stderr)).toMatch(/^etcd-monitor ctl: watch k: /);
    expectStoppedAtTimeout(run.ms);
  }, 60_000);

  it('lease keep-alive on a refused port, exit 4', async () => {
    const run = await runCli([
      'ctl',
      '--endpoints',
      refused,
      '--command-timeout',
      '3s',
      'lease',
      'keep-alive',
      '1234',
    ]);
    expect(run.code).toBe(4);
    expect(oneLine(run.stderr)).toMatch(/^etcd-monitor ctl: lease keep-alive 1234: .*ECONNREFUSED/);
    expect(run.ms).toBeLessThanOrEqual(startupMs + 3_000 + SLACK_MS);
  }, 60_000);
});

describe('SIGINT and SIGTERM end the process within 1 s, by the signal (shell status 130/143, as etcdctl)', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal}: watch on a live cluster`, async () => {
      const p = spawnCli(['ctl', '--endpoints', ep, 'watch', 'stop/sig']);
      await p.waitFor('watching');
      const sentAt = performance.now();
      p.child.kill(signal);
      const exit = await p.exited;
      expect(exit.signal, p.stderr()).toBe(signal);
      expect(exit.at - sentAt).toBeLessThanOrEqual(SLACK_MS);
    }, 60_000);

    it(`${signal}: watch still connecting to a silent listener`, async () => {
      const p = spawnCli(['ctl', '--endpoints', silentUrl, '--command-timeout', '60s', 'watch', 'k']);
      // No output marks "connecting": wait well past start-up so the signal reaches the running command.
      await new Promise((r) => setTimeout(r, startupMs + 1_500));
      expect(p.child.exitCode, p.stderr()).toBeNull();
      const sentAt = performance.now();
      p.child.kill(signal);
      const exit = await p.exited;
      expect(exit.signal, p.stderr()).toBe(signal);
      expect(exit.at - sentAt).toBeLessThanOrEqual(SLACK_MS);
    }, 60_000);

    it(`${signal}: lease keep-alive on a live cluster`, async () => {
      const grant = await runCli(['ctl', '--endpoints', ep, '--output', 'json', 'lease', 'grant', '30']);
      const id = (JSON.parse(grant.stdout) as { id: string }).id;
      const p = spawnCli(['ctl', '--endpoints', ep, 'lease', 'keep-alive', id]);
      await p.waitFor('keepalived');
      const sentAt = performance.now();
      p.child.kill(signal);
      const exit = await p.exited;
      expect(exit.signal, p.stderr()).toBe(signal);
      expect(exit.at - sentAt).toBeLessThanOrEqual(SLACK_MS);
    }, 60_000);
  }
});
