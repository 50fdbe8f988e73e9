import { execFileSync } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStatusResponse } from '../../src/protocol/protobuf/maintenance.js';
import { MemberClient } from '../../src/etcd/member-client.js';
import { normaliseAlarms, normaliseMemberList, normaliseStatus } from '../../src/etcd/normalise.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { waitFor } from '../../harness/processes.js';

// Every call (status, member list, alarms, probe, HashKV) goes through node:http2 (src/protocol/grpc)
// and the hand-written protobuf code (src/protocol/protobuf); etcd3 (grpc-js + proto-loader) reading
// the same member is the reference.

const TIMEOUTS = { dialTimeoutMs: 2000, requestTimeoutMs: 2000 };

describe('MemberClient reads against a real 3-member cluster, compared with etcd3', () => {
  let cluster: EtcdCluster;
  const clients: MemberClient[] = [];
  const references: Etcd3[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const r of references) r.close();
    await cluster?.destroy();
  });

  const pair = (i: number) => {
    const endpoint = cluster.endpoints[i] as string;
    const lean = new MemberClient(endpoint, undefined, TIMEOUTS);
    const reference = new Etcd3({ hosts: endpoint });
    clients.push(lean);
    references.push(reference);
    return { lean, reference };
  };

  it('status: same member, cluster, leader, term, version and learner flag as etcd3 reads', async () => {
    for (const i of [0, 1, 2]) {
      const { lean, reference } = pair(i);
      const ours = await lean.status();
      const theirs = normaliseStatus(await reference.maintenance.status());
      expect(ours.memberId).toBe(theirs.memberId);
      expect(ours.clusterId).toBe(theirs.clusterId);
      expect(ours.leaderId).toBe(theirs.leaderId);
      expect(ours.raftTerm).toBe(theirs.raftTerm);
      expect(ours.version).toBe(theirs.version);
      expect(ours.isLearner).toBe(false);
      expect(ours.dbSizeBytes).toBeGreaterThan(0);
      // etcd's member IDs are random 64-bit numbers: most do not fit a double, so exactness matters.
      expect(ours.memberId).toMatch(/^[0-9a-f]{1,16}$/);
      expect(ours.revision).toBeGreaterThanOrEqual(1);
    }
  });

  it('member list: identical to etcd3 (IDs, names, URLs, learner flags)', async () => {
    const { lean, reference } = pair(1);
    const ours = await lean.memberList();
    const theirs = normaliseMemberList(await reference.cluster.memberList({}));
    expect(ours).toEqual(theirs);
    expect(ours).toHaveLength(3);
    expect(new Set(ours.map((m) => m.id)).size).toBe(3);
  });

  it('alarms: none on a fresh cluster, as etcd3 sees it', async () => {
    const { lean, reference } = pair(2);
    expect(await lean.alarms()).toEqual([]);
    expect(normaliseAlarms(await reference.maintenance.alarm({ action: 'Get' }))).toEqual([]);
  });

  it('hashKv: every member hashes the same history at one revision, as etcdctl endpoint hashkv', async () => {
    const writer = pair(0).reference;
    for (let i = 0; i < 5; i++) await writer.put(`/etcd-monitor/test/hashkv/${i}`).value(String(i));
    const revision = Number((await writer.maintenance.status()).header.revision);
    // A follower may not have applied the last put yet ("required revision is a future revision").
    const leans = [0, 1, 2].map((i) => pair(i).lean);
    await waitFor(
      async () => (await Promise.all(leans.map((l) => l.status()))).every((s) => s.revision >= revision),
      {
        what: 'every member to apply the puts',
        timeoutMs: 10_000,
      },
    );
    const hashes = await Promise.all(leans.map((l) => l.hashKv(revision)));
    for (const h of hashes) {
      expect(h.revision).toBe(revision);
      expect(h.hash).toBe(hashes[0]?.hash);
      // etcd's mvcc store starts with compactMainRev -1 (mvcc/kvstore.go): never compacted.
      expect(h.compactRevision).toBe(-1);
    }
    const cli = execFileSync(
      'etcdctl',
      [`--endpoints=${cluster.endpoints[1]}`, 'endpoint', 'hashkv', `--rev=${revision}`, '-w', 'json'],
      {
        env: { ...process.env, ETCDCTL_API: '3' },
      },
    ).toString();
    expect((JSON.parse(cli) as { HashKV: { hash: number } }[])[0]?.HashKV.hash).toBe(hashes[0]?.hash);
  });

  it('a stopped member: connection refused (not a hang), then answers again once restarted', async () => {
    const { lean } = pair(0);
    await lean.status();
    await cluster.kill(0);
    // The first call may still meet the old session as the kernel resets it; the next one dials.
    await expect(lean.status()).rejects.toMatchObject({
      code: expect.stringMatching(/^(CONNECTION_RESET|CONNECTION_REFUSED)$/),
    });
    await expect(lean.status()).rejects.toMatchObject({ code: 'CONNECTION_REFUSED' });
    await cluster.restart(0);
    await cluster.waitHealthy(30_000);
    expect((await lean.status()).memberId).toMatch(/^[0-9a-f]+$/);
  });

  it('a paused member: REQUEST_TIMEOUT within the request timeout; fine again after it resumes', async () => {
    const { lean } = pair(1);
    await lean.status();
    cluster.pause(1);
    // Let SIGSTOP reach all of etcd's threads on the loaded machine (1 in ~10 runs answered otherwise).
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      const started = Date.now();
      await expect(lean.memberList()).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(TIMEOUTS.requestTimeoutMs + 1000);
    } finally {
      cluster.resume(1);
    }
    expect(await lean.memberList()).toHaveLength(3);
  });
});

describe('MemberClient reads with etcd authentication on', () => {
  let cluster: EtcdCluster;
  const clients: MemberClient[] = [];

  const etcdctl = (...args: [...string[], { input?: string }] | string[]) => {
    const last = args[args.length - 1];
    const opts = typeof last === 'object' ? (args.pop() as { input?: string }) : {};
    return execFileSync('etcdctl', [`--endpoints=${cluster.endpoints[0]}`, ...(args as string[])], {
      env: { ...process.env, ETCDCTL_API: '3' },
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    });
  };

  beforeAll(async () => {
    cluster = await startCluster({ size: 1 });
    etcdctl('user', 'add', 'root:pw-member-client');
    etcdctl('auth', 'enable');
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await cluster?.destroy();
  });

  it('authenticates, and fetches a new token once etcd invalidated the old one', async () => {
    const client = new MemberClient(cluster.endpoints[0] as string, undefined, {
      ...TIMEOUTS,
      auth: { username: 'root', password: 'pw-member-client' },
    });
    clients.push(client);
    // Of the three reads, etcd 3.4 checks the token on the alarm list only (status and member list
    // need none), and answers an invalid one with "auth: invalid auth token".
    expect(await client.alarms()).toEqual([]);
    // Setting a user's password (here: to the same value) invalidates that user's tokens.
    etcdctl('--user', 'root:pw-member-client', 'user', 'passwd', 'root', '--interactive=false', {
      input: 'pw-member-client\n',
    });
    expect(await client.alarms()).toEqual([]);
    expect(await client.memberList()).toHaveLength(1);
  });

  it('a wrong password is an authentication failure, not a hang or a crash', async () => {
    const client = new MemberClient(cluster.endpoints[0] as string, undefined, {
      ...TIMEOUTS,
      auth: { username: 'root', password: 'wrong' },
    });
    clients.push(client);
    // etcd: ErrGRPCAuthFailed (INVALID_ARGUMENT "etcdserver: authentication failed, invalid user ID or password").
    await expect(client.status()).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      message: expect.stringContaining('invalid user ID or password'),
    });
  });
});

describe('decodeStatusResponse on hand-built wire bytes', () => {
  it('reads uint64 IDs exactly, past 2^53 and up to 2^64 - 1', () => {
    const varint = (n: bigint) => {
      const out: number[] = [];
      while (n >= 0x80n) {
        out.push(Number(n & 0x7fn) | 0x80);
        n >>= 7n;
      }
      out.push(Number(n));
      return out;
    };
    const max = 2n ** 64n - 1n;
    const big = 2n ** 53n + 1n;
    const header = [0x08, ...varint(max), 0x10, ...varint(big), 0x18, ...varint(42n)];
    const bytes = Uint8Array.from([0x0a, header.length, ...header, 0x20, ...varint(big), 0x30, 7]);
    const status = normaliseStatus(decodeStatusResponse(bytes));
    expect(status.clusterId).toBe(max.toString(16));
    expect(status.memberId).toBe(big.toString(16));
    expect(status.leaderId).toBe(big.toString(16));
    expect(status.revision).toBe(42);
    expect(status.raftTerm).toBe(7);
  });

  it('rejects a truncated message instead of reading past its end', () => {
    expect(() => decodeStatusResponse(Uint8Array.from([0x0a, 0x05, 0x08]))).toThrow(/truncated/);
  });
});
