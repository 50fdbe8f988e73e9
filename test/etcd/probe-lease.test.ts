import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberClient } from '../../src/etcd/member-client.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { waitFor } from '../../harness/processes.js';

// The probe writes under --probe-prefix only, and a probe key never outlives its lease: every probe
// puts the key on a fresh lease (never reused, never lease 0), and a failed grant writes nothing.

const TIMEOUTS = { dialTimeoutMs: 2000, requestTimeoutMs: 2000 };

describe('probe keys live on their lease', () => {
  let cluster: EtcdCluster;
  let admin: Etcd3;
  let client: MemberClient;

  beforeAll(async () => {
    cluster = await startCluster({ size: 1 });
    admin = new Etcd3({ hosts: cluster.endpoints });
    client = new MemberClient(cluster.endpoints[0]!, undefined, TIMEOUTS);
  });
  afterAll(async () => {
    client?.close();
    admin?.close();
    await cluster?.destroy();
  });

  const leaseOf = async (key: string): Promise<string | undefined> => {
    const res = await admin.kv.range({ key: Buffer.from(key) });
    return res.kvs[0]?.lease;
  };

  it('each probe puts the key on a fresh lease; the key disappears when the lease expires', async () => {
    const key = '/etcd-monitor/probe/test/a';
    await client.probe(key, 2);
    const first = await leaseOf(key);
    expect(first).toMatch(/^[1-9]\d*$/);
    const ttl = await admin.leaseClient.leaseTimeToLive({ ID: first! });
    expect(Number(ttl.grantedTTL)).toBeGreaterThan(0);
    // etcd may raise a short TTL to its minimum (1.5 × election timeout); never beyond a few seconds here.
    expect(Number(ttl.grantedTTL)).toBeLessThanOrEqual(5);

    await client.probe(key, 2);
    const second = await leaseOf(key);
    expect(second).toMatch(/^[1-9]\d*$/);
    expect(second).not.toBe(first);

    await waitFor(
      async () => (await leaseOf(key)) === undefined && (await admin.get(key).exists()) === false,
      {
        what: 'the probe key to expire with its lease',
        timeoutMs: 20_000,
        intervalMs: 200,
      },
    );
  });

  it('two exporters probing one key at once (an HA pair, a rollout) both succeed: a later write is not a bad read', async () => {
    // Each probe is grant, put, linearizable range; run side by side, one exporter's range often returns
    // the other's put (same key, higher revision). Before the check compared revisions, that was a
    // BAD_RESPONSE: a failing probe, and EtcdProbeFailing, for every cluster two exporters watched.
    const key = '/etcd-monitor/probe/test/shared';
    const other = new MemberClient(cluster.endpoints[0]!, undefined, TIMEOUTS);
    try {
      for (let i = 0; i < 100; i++) {
        const results = await Promise.allSettled([client.probe(key, 5), other.probe(key, 5)]);
        expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok']);
      }
    } finally {
      other.close();
    }
  });

  it('a failed lease grant writes no key (no unleased fallback)', async () => {
    const key = '/etcd-monitor/probe/test/b';
    // etcd refuses TTLs above MaxLeaseTTL (9,000,000,000 s): ErrGRPCLeaseTTLTooLarge, OUT_OF_RANGE
    // "etcdserver: too large lease TTL".
    await expect(client.probe(key, 9_000_000_001)).rejects.toMatchObject({ code: 'GRPC_OUT_OF_RANGE' });
    expect(await admin.get(key).exists()).toBe(false);
  });
});
