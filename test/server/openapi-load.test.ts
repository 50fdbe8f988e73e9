import autocannon from 'autocannon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../support/exporter.js';

const DURATION_S = 20;
// A steady, modest rate: the point is correctness while a member dies, not throughput (that is bench/'s job),
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

describe('load on /metrics and the API while a member is killed and restarted', () => {
  it('answers every request without a 5xx, error or timeout', async () => {
    const victim = await cluster.leaderIndex();
    const run = autocannon({
      url: exporter.url,
      connections: 4,
      duration: DURATION_S,
      overallRate: RATE_PER_S,
      timeout: 10,
      requests: PATHS.map((path) => ({ method: 'GET' as const, path })),
    });
    // Kill the leader a few seconds in (the harshest member to lose), bring it back a few seconds later.
    await new Promise((r) => setTimeout(r, 4000));
    await cluster.kill(victim);
    await new Promise((r) => setTimeout(r, 6000));
    await cluster.restart(victim);
    const result = await run;

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
    console.log(`load test report: ${JSON.stringify(report)}`);
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
});
