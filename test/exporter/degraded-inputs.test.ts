import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';

/** Loopback HTTP server standing in for a broken member: garbage on every path, or no answer at all. */
async function fakeMember(mode: 'garbage' | 'hang'): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    if (mode === 'hang') return; // accept, never answer
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('<html><body>definitely not {prometheus} metrics\u0000\u0001</body></html>\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('degraded inputs', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()?.();
  });
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()?.();
  });
  const track = <T extends EtcdCluster | ExporterProcess>(thing: T): T => {
    cleanups.push(() => ('destroy' in thing ? thing.destroy() : thing.stop()));
    return thing;
  };

  it('a member serving garbage or hanging degrades only that member; the rest keep reporting', async () => {
    const cluster: EtcdCluster = track(await startCluster({ size: 3 }));
    const garbage = await fakeMember('garbage');
    const hung = await fakeMember('hang');
    cleanups.push(async () => {
      hung.server.closeAllConnections();
      garbage.server.close();
      hung.server.close();
    });
    const exporter: ExporterProcess = track(
      await startExporter({
        args: [
          '--endpoints',
          [...cluster.endpoints, garbage.url, hung.url].join(','),
          // No member list names the fakes: with discovery they would be seeds that never answer one,
          // and never watched. Without it every configured endpoint is watched as a member.
          '--discover-members=false',
          '--cluster-name',
          'c1',
          ...FAST_INTERVALS,
        ],
      }),
    );
    await waitFor(
      async () => (await exporter.sample('etcd_monitor_cluster_members_healthy', { cluster: 'c1' })) === 3,
      {
        what: '3 real members healthy',
        timeoutMs: 20_000,
      },
    );
    const text = await exporter.metricsText();
    const success = (endpoint: string, collector: string) => {
      const host = new URL(endpoint).host;
      const match = new RegExp(
        `^etcd_monitor_collector_success\\{cluster="c1",member="${host.replace(/\./g, '\\.')}",collector="${collector}"\\} (\\d)$`,
        'm',
      ).exec(text);
      return match ? Number(match[1]) : undefined;
    };
    expect(success(garbage.url, 'metrics')).toBe(0);
    expect(success(hung.url, 'metrics')).toBe(0);
    for (const member of cluster.members) {
      expect(text).toMatch(
        new RegExp(
          `^etcd_monitor_collector_success\\{cluster="c1",member="[^"]+",collector="metrics"\\} 1$`,
          'm',
        ),
      );
      expect(await exporter.sample('etcd_monitor_member_up', { member: member.name })).toBe(1);
    }
    // Fakes are not in the member list, so quorum is judged on the 3 real voting members.
    expect(await exporter.sample('etcd_monitor_cluster_quorum_available', { cluster: 'c1' })).toBe(1);
    expect(await exporter.sample('etcd_monitor_cluster_failure_tolerance', { cluster: 'c1' })).toBe(1);
    // Rounds keep completing although one endpoint never answers.
    const first = await exporter.sample('etcd_monitor_last_collection_timestamp_seconds', { cluster: 'c1' });
    await waitFor(
      async () =>
        ((await exporter.sample('etcd_monitor_last_collection_timestamp_seconds', { cluster: 'c1' })) ?? 0) >
        (first ?? 0),
      {
        what: 'the next collection round',
        timeoutMs: 10_000,
      },
    );
    expect(exporter.proc.output()).toMatch(/collector failing for member/);
  });

  it('a small quota filled up: the NOSPACE alarm is reported', async () => {
    const cluster = track(await startCluster({ size: 1, quotaBackendBytes: 1_000_000 }));
    const client = new Etcd3({ hosts: cluster.endpoints[0] as string });
    try {
      const value = 'x'.repeat(100_000);
      for (let i = 0; i < 200; i++) {
        try {
          await client.put(`fill/${i}`).value(value);
        } catch (err) {
          if (/database space exceeded|circuit breaker/i.test((err as Error).message)) break;
          throw err;
        }
      }
    } finally {
      client.close();
    }
    const exporter = track(
      await startExporter({
        args: ['--endpoints', cluster.endpoints.join(','), '--cluster-name', 'small', ...FAST_INTERVALS],
      }),
    );
    const member = cluster.members[0]?.name as string;
    await waitFor(
      async () => (await exporter.sample('etcd_monitor_member_alarm', { member, alarm: 'NOSPACE' })) === 1,
      {
        what: 'NOSPACE alarm in /metrics',
        timeoutMs: 15_000,
      },
    );
    expect(await exporter.sample('etcd_monitor_member_alarm', { member, alarm: 'CORRUPT' })).toBe(0);
    const { body } = await exporter.json<{ alarms: { member: string; type: string }[]; healthy: boolean }>(
      '/api/v1/cluster/status',
    );
    expect(body.alarms).toContainEqual({ member, type: 'NOSPACE' });
    expect(body.healthy).toBe(false);
    // etcd answers /health false for any alarm; the member still has a leader, so quorum is not lost.
    expect(await exporter.sample('etcd_monitor_cluster_quorum_available', { cluster: 'small' })).toBe(1);
  });

  it('TLS cluster: works with client certificates, fails with a clear error without them', async () => {
    const cluster = track(await startCluster({ size: 3, tls: true }));
    const tls = cluster.tls as { caFile: string; certFile: string; keyFile: string };
    const withCerts = track(
      await startExporter({
        args: [
          '--endpoints',
          cluster.endpoints.join(','),
          '--cacert',
          tls.caFile,
          '--cert',
          tls.certFile,
          '--key',
          tls.keyFile,
          '--cluster-name',
          'secure',
          ...FAST_INTERVALS,
        ],
      }),
    );
    await waitFor(
      async () =>
        (await withCerts.sample('etcd_monitor_cluster_members_healthy', { cluster: 'secure' })) === 3,
      {
        what: 'TLS members healthy with client certs',
        timeoutMs: 20_000,
      },
    );
    expect(
      await withCerts.sample('etcd_monitor_collector_success', { cluster: 'secure', collector: 'metrics' }),
    ).toBe(1);

    const withoutCerts = track(
      await startExporter({
        args: [
          '--endpoints',
          cluster.endpoints.join(','),
          '--cacert',
          tls.caFile,
          '--cluster-name',
          'nocert',
          ...FAST_INTERVALS,
        ],
      }),
    );
    expect(await withoutCerts.sample('etcd_monitor_cluster_members_reachable', { cluster: 'nocert' })).toBe(
      0,
    );
    expect(await withoutCerts.sample('etcd_monitor_cluster_quorum_available', { cluster: 'nocert' })).toBe(0);
    // The exporter itself stays up and says why in its log.
    expect((await withoutCerts.json('/health')).status).toBe(200);
    const failures = withoutCerts.proc
      .output()
      .split('\n')
      .filter(
        (line) => line.includes('collector failing for member') && line.includes('"collector":"status"'),
      );
    expect(failures.length).toBeGreaterThan(0);
    // Classified by code (etcd answers a missing client certificate with a bad_certificate alert); the
    // message says what to check.
    for (const line of failures) {
      const entry = JSON.parse(line) as { code: string; error: string };
      expect(entry.code).toBe('TLS_BAD_CERTIFICATE');
      expect(entry.error).toMatch(/--cert and --key/);
    }
  });
});
