import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import bcrypt from 'bcryptjs';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { startApiServer } from './security-support.js';

const DURATION_S = 20;
// A steady, modest rate: the point is correctness while a member dies, not throughput (that is perf/'s job),
// and the 2-core machine also runs etcd and the load generator.
const RATE_PER_S = 40;
const PATHS = [
  '/metrics',
  '/api/v1/cluster/status',
  '/api/v1/cluster/members',
  '/api/v1/cluster/leader',
  '/api/v1/metrics/current',
  '/api/v1/metrics/latency',
  '/api/v1/alerts',
  '/health',
  '/ready',
];

let cluster: EtcdCluster;
let exporter: ExporterProcess;

beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
  exporter = await startExporter({ args: ['--endpoints', cluster.endpoints.join(','), ...FAST_INTERVALS] });
}, 120_000);
afterAll(async () => {
  await exporter?.stop();
  await cluster?.destroy();
});

/** Runs autocannon for DURATION_S against `url` while the current leader is killed and, later, restarted. */
async function loadWhileLeaderDies(url: string, headers: Record<string, string> = {}) {
  const victim = await cluster.leaderIndex();
  const run = autocannon({
    url,
    connections: 4,
    duration: DURATION_S,
    overallRate: RATE_PER_S,
    timeout: 10,
    requests: PATHS.map((p) => ({ method: 'GET' as const, path: p, headers })),
  });
  // Kill the leader a few seconds in (the harshest member to lose), bring it back a few seconds later.
  await new Promise((r) => setTimeout(r, 4000));
  await cluster.kill(victim);
  await new Promise((r) => setTimeout(r, 6000));
  await cluster.restart(victim);
  return { result: await run, victim };
}

describe('load on /metrics and the API while a member is killed and restarted', () => {
  it('answers every request without a 5xx, error or timeout', async () => {
    const { result, victim } = await loadWhileLeaderDies(exporter.url);
    const report = {
      requests: result.requests.total,
      rps: result.requests.average,
      latencyMs: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        max: result.latency.max,
      },
      status: { '2xx': result['2xx'], '4xx': result['4xx'], '5xx': result['5xx'] },
      errors: result.errors,
      timeouts: result.timeouts,
      victim,
    };
    console.log(`load test report (exporter process): ${JSON.stringify(report)}`);
    expect(result.requests.total).toBeGreaterThan(RATE_PER_S * DURATION_S * 0.5);
    expect(result['5xx']).toBe(0);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(exporter.proc.running).toBe(true);
    // The member loss was seen by the exporter while we hammered it.
    const total = await exporter.sample('etcd_monitor_cluster_leader_changes_total', { cluster: 'default' });
    expect(total).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('does the same with authentication on (basic auth for /metrics, bearer token for the API)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'load-auth-'));
    const token = 'load-test-viewer-token-0123456789';
    await writeFile(path.join(dir, 'viewer.token'), token);
    await writeFile(
      path.join(dir, 'web.yml'),
      [
        'basic_auth_users:',
        `  prometheus: ${bcrypt.hashSync('scrape-pw', 10)}`,
        'etcd_monitor:',
        '  metrics_auth: true',
        '  tokens: [{name: dash, token_file: viewer.token, role: viewer}]',
        '',
      ].join('\n'),
    );
    const api = await startApiServer({
      endpoints: cluster.endpoints,
      webConfigFile: path.join(dir, 'web.yml'),
    });
    try {
      // Basic auth on every request exercises the bcrypt verdict cache: one bcrypt compare, then lookups.
      const auth = { authorization: `Basic ${Buffer.from('prometheus:scrape-pw').toString('base64')}` };
      const { result, victim } = await loadWhileLeaderDies(api.url, auth);
      console.log(
        `load test report (in-process API with auth): ${JSON.stringify({
          requests: result.requests.total,
          latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          victim,
        })}`,
      );
      expect(result.requests.total).toBeGreaterThan(RATE_PER_S * DURATION_S * 0.5);
      expect(result.non2xx).toBe(0);
      expect(result.errors).toBe(0);
      expect(result.timeouts).toBe(0);
      const bearer = await fetch(`${api.url}/api/v1/cluster/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(bearer.status).toBe(200);
    } finally {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
