import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { findSample } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** The descriptor limit many hosts still give a service (issue 12 starved it with 1,100 connections). */
const FD_LIMIT = 1024;
const HALF_OPEN = 1100;
const MAX_CONNECTIONS = 512;
const EXTRA_SERIES = 20_000;

const follower = readFileSync(path.join(ROOT, 'test/fixtures/etcd-3.4/follower-metrics.txt'), 'utf8');
/** A real etcd 3.4 member's /metrics plus `extra` series of one re-exposed family. */
function memberBody(extra: number): string {
  const family = 'etcd_server_requests_by_key_total';
  const lines = [`# HELP ${family} Requests per key.`, `# TYPE ${family} counter`];
  for (let i = 0; i < extra; i++) lines.push(`${family}{key="/registry/pods/pod-${i}"} 1`);
  return extra > 0 ? `${follower}${lines.join('\n')}\n` : follower;
}

/**
 * Half-open connections: TCP connections that never send a byte. Each one the exporter closes is opened
 * again, so `count` stay attempted for as long as the flood runs.
 */
function flood(port: number, count: number) {
  const sockets = new Set<net.Socket>();
  let running = true;
  let opened = 0;
  const open = () => {
    if (!running) return;
    const socket = net.connect(port, '127.0.0.1');
    opened++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      setTimeout(open, 20);
    });
  };
  for (let i = 0; i < count; i++) open();
  return {
    get opened() {
      return opened;
    },
    stop() {
      running = false;
      for (const s of sockets) s.destroy();
    },
  };
}

describe('the exporter against a hostile member and a half-open connection flood', () => {
  let cluster: EtcdCluster;
  let fake: Server;
  let fakeBody = memberBody(EXTRA_SERIES);
  let fakePort: number;
  let exporter: TrackedProcess;
  let base: string;
  let dir: string;
  const logLines: string[] = [];
  const metrics = async () => {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    return res.text();
  };
  const etcdMember = () => cluster.members[0]?.name ?? '';
  /** The label the exporter gives the fake member (it has no Status, so its host:port or URL). */
  const fakeLabel = (text: string) => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith('etcd_monitor_collector_success{') && l.includes(`:${fakePort}`));
    return /member="([^"]+)"/.exec(line ?? '')?.[1];
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hostile-member-test-'));
    cluster = await startCluster({ size: 1 });
    fake = createServer((req, res) => {
      if (req.url === '/metrics') res.writeHead(200, { 'content-type': 'text/plain' }).end(fakeBody);
      else if (req.url === '/health') res.writeHead(200).end('{"health":"true"}');
      else res.writeHead(404).end();
    });
    fakePort = await freePort();
    await new Promise<void>((resolve) => fake.listen(fakePort, '127.0.0.1', resolve));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const args = [
      '--import',
      'tsx',
      path.join(ROOT, 'src/cli.ts'),
      '--endpoints',
      `${cluster.endpoints.join(',')},http://127.0.0.1:${fakePort}`,
      '--discover-members=false',
      '--health-check-interval',
      '1s',
      '--metrics-interval',
      '1s',
      '--web.max-connections',
      String(MAX_CONNECTIONS),
      '--api-host',
      '127.0.0.1',
      '--api-port',
      String(port),
      '--data-dir',
      path.join(dir, 'data'),
      '--log-level',
      'info',
    ];
    // The soft and hard descriptor limit of many services; `exec` keeps the pid the exporter's own.
    exporter = spawnTracked(
      'sh',
      ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, ...args],
      {
        cwd: ROOT,
        label: 'etcd-monitor',
      },
    );
    // The log goes to stderr, one JSON object per line.
    let partial = '';
    exporter.child.stderr?.on('data', (chunk: Buffer | string) => {
      const parts = (partial + String(chunk)).split('\n');
      partial = parts.pop() ?? '';
      logLines.push(...parts);
    });
    await waitFor(
      async () => {
        if (!exporter.running) throw new Error(`exporter exited:\n${exporter.output()}`);
        const res = await fetch(`${base}/ready`).catch(() => undefined);
        return res?.status === 200;
      },
      { what: 'the exporter to be ready', timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 120_000);

  afterAll(async () => {
    if (exporter) await terminate(exporter, 'SIGTERM', 8000);
    fake?.closeAllConnections();
    if (fake) await new Promise((r) => fake.close(r));
    await cluster?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs with the descriptor limit the flood is about', () => {
    const limits = readFileSync(`/proc/${exporter.pid}/limits`, 'utf8');
    expect(limits).toMatch(new RegExp(`Max open files\\s+${FD_LIMIT}\\s+${FD_LIMIT}`));
  });

  it('drops the re-exposure of a member over --reexpose-max-series, keeps its derived series and the others', async () => {
    const text = await waitFor(
      async () => {
        const t = await metrics();
        const label = fakeLabel(t);
        // The gauge is set at once, the re-exposed page after the merge window (250 ms).
        const gone = !t.includes('etcd_server_requests_by_key_total');
        return label && findSample(t, 'etcd_monitor_reexpose_dropped', { member: label }) === 1 && gone && t;
      },
      { what: 'the fake member to be over the cap', timeoutMs: 30_000, intervalMs: 500 },
    );
    const label = fakeLabel(text) as string;
    expect(text).not.toContain('etcd_server_requests_by_key_total');
    expect(text).not.toMatch(new RegExp(`^etcd_server_\\w+\\{cluster="[^"]*",member="${label}"`, 'm'));
    expect(Buffer.byteLength(text)).toBeLessThan(1_000_000);
    // The fake member's own series are gone, not its collectors or what is derived from its /metrics.
    expect(findSample(text, 'etcd_monitor_collector_success', { member: label, collector: 'metrics' })).toBe(
      1,
    );
    expect(findSample(text, 'etcd_monitor_member_open_fds', { member: label })).toBeGreaterThan(0);
    // The real member is re-exposed as before and not over the cap.
    expect(findSample(text, 'etcd_server_has_leader', { member: etcdMember() })).toBe(1);
    expect(findSample(text, 'etcd_monitor_reexpose_dropped', { member: etcdMember() })).toBe(0);
  });

  it('says so in one log line, not one per round, and once more when the member is back under the cap', async () => {
    // Several 1 s rounds have run since the member went over.
    await new Promise((r) => setTimeout(r, 3000));
    const over = () => logLines.filter((l) => l.includes('more series than --reexpose-max-series'));
    expect(over()).toHaveLength(1);
    expect(JSON.parse(over()[0] as string)).toMatchObject({ level: 40, maxSeries: 10_000 });
    fakeBody = memberBody(0);
    const text = await waitFor(
      async () => {
        const t = await metrics();
        const label = fakeLabel(t);
        const back = label && findSample(t, 'etcd_server_has_leader', { member: label }) !== undefined;
        return back && findSample(t, 'etcd_monitor_reexpose_dropped', { member: label }) === 0 && t;
      },
      { what: 'the fake member to be back under the cap', timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(findSample(text, 'etcd_server_has_leader', { member: fakeLabel(text) as string })).toBe(1);
    expect(logLines.filter((l) => l.includes('back under --reexpose-max-series'))).toHaveLength(1);
    expect(over()).toHaveLength(1);
  });

  it(`keeps answering /metrics and /health and probing etcd through ${HALF_OPEN} half-open connections`, async () => {
    const attack = flood(Number(new URL(base).port), HALF_OPEN);
    try {
      // Let the flood reach the cap and churn through several health rounds.
      await waitFor(() => attack.opened >= HALF_OPEN, { what: 'the flood to open its connections' });
      await new Promise((r) => setTimeout(r, 2000));
      const probedBefore = findSample(await metrics(), 'etcd_monitor_collector_duration_seconds', {
        member: etcdMember(),
        collector: 'probe',
      });
      for (let i = 0; i < 4; i++) {
        const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(10_000) });
        expect(health.status).toBe(200);
        const text = await metrics();
        expect(
          findSample(text, 'etcd_monitor_probe_success', { member: etcdMember(), operation: 'read' }),
        ).toBe(1);
        expect(
          findSample(text, 'etcd_monitor_probe_success', { member: etcdMember(), operation: 'write' }),
        ).toBe(1);
        expect(
          findSample(text, 'etcd_monitor_collector_success', { member: etcdMember(), collector: 'probe' }),
        ).toBe(1);
        expect(
          findSample(text, 'etcd_monitor_collector_success', { member: etcdMember(), collector: 'status' }),
        ).toBe(1);
        expect(findSample(text, 'etcd_monitor_http_connections_open')).toBeLessThanOrEqual(MAX_CONNECTIONS);
        await new Promise((r) => setTimeout(r, 1000));
      }
      const text = await metrics();
      // Probes kept running (a new duration each round), and the cap did the work.
      expect(
        findSample(text, 'etcd_monitor_collector_duration_seconds', {
          member: etcdMember(),
          collector: 'probe',
        }),
      ).not.toBe(probedBefore);
      expect(
        findSample(text, 'etcd_monitor_http_connections_dropped_total', { reason: 'evicted_idle' }),
      ).toBeGreaterThan(HALF_OPEN - MAX_CONNECTIONS);
      // Descriptors in use stay well under the limit: the cap plus etcd's connections, files and pipes.
      expect(readdirSync(`/proc/${exporter.pid}/fd`).length).toBeLessThan(MAX_CONNECTIONS + 150);
      expect(logLines.join('\n')).not.toMatch(/EMFILE/);
      // One warning for the whole flood (at most one per minute).
      expect(logLines.filter((l) => l.includes('over --web.max-connections'))).toHaveLength(1);
    } finally {
      attack.stop();
    }
    expect(exporter.running).toBe(true);
  }, 60_000);
});
