import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';

describe('exporter HTTP surface and lifecycle', () => {
  let cluster: EtcdCluster;
  let exporter: ExporterProcess;

  beforeAll(async () => {
    cluster = await startCluster({ size: 1 });
    exporter = await startExporter({
      args: [
        '--endpoints',
        cluster.endpoints.join(','),
        '--cluster-name',
        'solo',
        '--health-check-interval',
        '1s',
        '--metrics-interval',
        '1s',
      ],
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await cluster?.destroy();
  });

  it('serves liveness, readiness and a landing page that links to /metrics', async () => {
    expect(await exporter.json('/health')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await exporter.json('/ready')).toEqual({
      status: 200,
      body: { status: 'ready', clusters: ['solo'] },
    });
    const landing = await fetch(`${exporter.url}/`);
    expect(landing.headers.get('content-type')).toMatch(/text\/html/);
    const html = await landing.text();
    expect(html).toContain('href="/metrics"');
    expect(html).toContain('Cluster solo: <span class="badge');
  });

  it('answers the REST endpoints in the original JSON shapes', async () => {
    const status = (await exporter.json<Record<string, unknown>>('/api/v1/cluster/status')).body;
    for (const key of [
      'healthy',
      'leader_id',
      'member_count',
      'quorum_size',
      'has_leader',
      'leader_changes',
      'last_leader_change',
      'network_partition',
      'alarms',
      'last_check',
    ]) {
      expect(status).toHaveProperty(key);
    }
    expect(status).toMatchObject({
      healthy: true,
      member_count: 1,
      quorum_size: 1,
      has_leader: true,
      network_partition: false,
    });
    const leader = (await exporter.json<Record<string, unknown>>('/api/v1/cluster/leader')).body;
    expect(leader).toMatchObject({
      has_leader: true,
      leader_name: cluster.members[0]?.name,
      endpoint: cluster.endpoints[0],
    });
    const current = (await exporter.json<Record<string, unknown>>('/api/v1/metrics/current')).body;
    for (const key of [
      'timestamp',
      'request_rate',
      'read_latency_p50',
      'read_latency_p95',
      'read_latency_p99',
      'write_latency_p50',
      'write_latency_p95',
      'write_latency_p99',
      'db_size',
      'db_size_in_use',
    ]) {
      expect(current).toHaveProperty(key);
    }
    expect(current['db_size']).toBeGreaterThan(0);
    expect(current['write_latency_p99']).toBeGreaterThan(0);
    const latency = (
      await exporter.json<{ read: { p99: number }; write: { p99: number }; unit: string }>(
        '/api/v1/metrics/latency',
      )
    ).body;
    expect(latency.unit).toBe('ms');
    expect(latency.read.p99).toBeGreaterThan(0);
  });

  it('gives 4xx JSON errors without stack traces for bad requests', async () => {
    const unknownCluster = await exporter.json<{ error: { code: string; message: string } }>(
      '/api/v1/cluster/status?cluster=nope',
    );
    expect(unknownCluster.status).toBe(404);
    expect(unknownCluster.body.error.code).toBe('UNKNOWN_CLUSTER');
    const twice = await exporter.json<{ error: { code: string } }>(
      '/api/v1/cluster/status?cluster=a&cluster=b',
    );
    expect(twice.status).toBe(400);
    const missing = await exporter.json<{ error: { code: string } }>('/api/v1/nothing-here');
    expect(missing).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'no route for GET /api/v1/nothing-here' } },
    });
    const malformed = await fetch(`${exporter.url}/api/v1/alerts/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"version": ',
    });
    expect(malformed.status).toBe(400);
    const text = await malformed.text();
    expect(JSON.parse(text)).toHaveProperty('error.code');
    expect(text).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('shuts down cleanly on SIGTERM within 5 seconds', async () => {
    const second = await startExporter({
      args: ['--endpoints', cluster.endpoints.join(','), '--health-check-interval', '1s'],
    });
    const started = Date.now();
    second.proc.child.kill('SIGTERM');
    const exit = await second.proc.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(second.proc.output()).toMatch(/"msg":"stopped"/);
    await second.stop();
  });
});
