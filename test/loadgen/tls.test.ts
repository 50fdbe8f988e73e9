import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBenchmark } from '../../src/loadgen/run.js';
import type { BenchOptions } from '../../src/loadgen/spec.js';
import { DEFAULT_SLO } from '../../src/loadgen/slo.js';
import { connectLean } from '../../src/loadgen/transport.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';

describe('benchmark over TLS with client certificates', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startCluster({ size: 3, tls: true });
  });
  afterAll(() => cluster?.destroy());

  const opts = (over: Partial<BenchOptions>): BenchOptions => ({
    endpoints: cluster.endpoints,
    tls: cluster.tls,
    workload: 'mixed',
    ops: 1500,
    clients: 12,
    conns: 3,
    keySize: 8,
    valSize: 256,
    keySpace: 300,
    sequentialKeys: false,
    consistency: 'l',
    prefix: '/t-tls/',
    client: 'lean',
    readRatio: 0.7,
    slo: DEFAULT_SLO,
    dialTimeoutMs: 5000,
    requestTimeoutMs: 10_000,
    ...over,
  });

  it('lean path: HTTP/2 over TLS (ALPN h2) with the client certificate', async () => {
    expect(cluster.endpoints.every((e) => e.startsWith('https://'))).toBe(true);
    const r = await runBenchmark(opts({}));
    expect(r).toMatchObject({
      total: 1500,
      successful: 1500,
      failed: 0,
      conditions: { tls: true, client: 'lean' },
    });
    expect(r.cleanup.deletedKeys).toBe(300);
  });

  it('etcd3 path over TLS', async () => {
    const r = await runBenchmark(opts({ client: 'etcd3', ops: 500 }));
    expect(r).toMatchObject({ total: 500, failed: 0, conditions: { tls: true, client: 'etcd3' } });
  });

  it('lean path without the client certificate: the handshake failure surfaces as a typed error', async () => {
    const attempt = connectLean(
      {
        endpoints: cluster.endpoints,
        conns: 1,
        tls: { caFile: cluster.tls!.caFile },
        dialTimeoutMs: 5000,
        requestTimeoutMs: 5000,
      },
      { prefix: Buffer.alloc(0), keySize: 8, valSize: 8, serializable: false },
    );
    // TLS 1.3: etcd's certificate_required alert arrives after our handshake completes, during the
    // HTTP/2 preface; it still ends the dial with the TLS code, not a reset.
    await expect(attempt).rejects.toMatchObject({
      code: 'TLS_BAD_CERTIFICATE',
      endpoint: cluster.endpoints[0],
    });
  });
});
