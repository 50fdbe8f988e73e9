import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitor, CtlError, EtcdOperations, type EtcdMonitor } from '../../src/index.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { waitFor } from '../../harness/processes.js';

let cluster: EtcdCluster;

beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
});
afterAll(async () => {
  await cluster?.destroy();
});

describe('library API (package entry)', () => {
  it('createMonitor: start, read cluster status and current metrics, stop', async () => {
    const monitor: EtcdMonitor = createMonitor({
      endpoints: cluster.endpoints,
      clusterName: 'lib',
      healthCheckInterval: '1s',
      metricsInterval: 1000,
    });
    expect(monitor.config.healthCheckIntervalMs).toBe(1000);
    expect(monitor.clusterStatus()).toBeUndefined();
    await monitor.start();
    try {
      const status = monitor.clusterStatus();
      expect(status).toMatchObject({
        cluster: 'lib',
        healthy: true,
        memberCount: 3,
        quorumSize: 2,
        hasLeader: true,
        alarms: [],
      });
      expect(status?.leaderId).toMatch(/^[0-9a-f]+$/);
      expect(status?.lastCheck).toBeInstanceOf(Date);
      // Probe latencies appear once the probe has run at least once after start.
      const metrics = await waitFor(
        () => {
          const m = monitor.currentMetrics();
          return m && m.writeLatencyP99 !== null ? m : undefined;
        },
        { timeoutMs: 20_000, what: 'probe latencies' },
      );
      expect(metrics.dbSize).toBeGreaterThan(0);
      expect(metrics.readLatencyP99).toBeGreaterThan(0);
      expect(await monitor.metricsText()).toContain('etcd_monitor_cluster_quorum_available{cluster="lib"} 1');
    } finally {
      await monitor.stop();
    }
  });

  it('EtcdOperations: typed operations with typed failures', async () => {
    const ops = new EtcdOperations({ endpoints: cluster.endpoints });
    try {
      await ops.put('lib/a', '1');
      const cas = await ops.compareAndSwap('lib/a', '1', '2');
      expect(cas.succeeded).toBe(true);
      expect((await ops.get({ key: 'lib/a' })).kvs[0]?.value).toBe('2');
      const health = await ops.endpointHealth({ cluster: true });
      expect(health.every((h) => h.healthy)).toBe(true);
      const err = await ops.leaseRevoke('abc').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CtlError);
      expect((err as CtlError).kind).toBe('NOT_FOUND');
    } finally {
      ops.close();
    }
  });

  it("rejects bad options with the CLI's validation", () => {
    expect(() => createMonitor({ endpoints: ['not a url'] })).toThrow(/endpoints/);
  });
});
