// The exporter's gRPC client (src/protocol/grpc over node:http2) against a real etcd 3.4 with TLS
// client certificates and authentication on, and against TLS servers whose certificates each break one
// rule: every call MemberClient makes works, and every TLS failure has its own stable code.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberClient, type TlsMaterial } from '../../src/etcd/member-client.js';
import { GrpcUnaryClient } from '../../src/protocol/grpc/unary.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { generateTlsMaterial } from '../../harness/tls.js';
import { generateFaultyTls, type FaultyTls } from '../support/tls-faults.js';

const PASSWORD = 'pw-grpc-unary-7d1e';
const TIMEOUTS = { dialTimeoutMs: 3000, requestTimeoutMs: 3000 };

describe('MemberClient over TLS with client certificates and etcd authentication (real etcd 3.4)', () => {
  let cluster: EtcdCluster;
  let material: TlsMaterial;
  let admin: Etcd3;
  let otherCaDir: string;
  const clients: MemberClient[] = [];

  const etcdctl = (args: string[], input?: string): string => {
    const t = cluster.tls as { caFile: string; certFile: string; keyFile: string };
    return execFileSync(
      'etcdctl',
      [
        `--endpoints=${cluster.endpoints[0]}`,
        `--cacert=${t.caFile}`,
        `--cert=${t.certFile}`,
        `--key=${t.keyFile}`,
        ...args,
      ],
      { env: { ...process.env, ETCDCTL_API: '3' }, ...(input !== undefined ? { input } : {}) },
    ).toString();
  };
  const client = (tls: TlsMaterial | undefined, password = PASSWORD): MemberClient => {
    const c = new MemberClient(cluster.endpoints[0] as string, tls, {
      ...TIMEOUTS,
      auth: { username: 'root', password },
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startCluster({ size: 1, tls: true });
    const t = cluster.tls as { caFile: string; certFile: string; keyFile: string };
    material = {
      ca: await readFile(t.caFile),
      cert: await readFile(t.certFile),
      key: await readFile(t.keyFile),
    };
    etcdctl(['user', 'add', `root:${PASSWORD}`]);
    etcdctl(['auth', 'enable']);
    admin = new Etcd3({
      hosts: cluster.endpoints,
      credentials: { rootCertificate: material.ca!, certChain: material.cert!, privateKey: material.key! },
      auth: { username: 'root', password: PASSWORD },
    });
    otherCaDir = await mkdtemp(path.join(os.tmpdir(), 'etcd-monitor-other-ca-'));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    admin?.close();
    await cluster?.destroy();
    if (otherCaDir) await rm(otherCaDir, { recursive: true, force: true });
  });

  it('status, member list, alarms, the probe and HashKV all work over one TLS session', async () => {
    const c = client(material);
    const status = await c.status();
    expect(status.memberId).toMatch(/^[0-9a-f]+$/);
    expect(status.version).toMatch(/^3\.4\./);
    expect(await c.memberList()).toHaveLength(1);
    expect(await c.alarms()).toEqual([]);
    const probe = await c.probe('/etcd-monitor/probe/grpc-unary-test', 5);
    expect(probe.writeSeconds).toBeGreaterThan(0);
    expect(probe.readSeconds).toBeGreaterThan(0);
    // The probe key sits on a lease, as etcd3 reading it back shows.
    const kv = (await admin.kv.range({ key: Buffer.from('/etcd-monitor/probe/grpc-unary-test') })).kvs[0];
    expect(kv?.lease).toMatch(/^[1-9]\d*$/);
    const revision = (await c.status()).revision;
    const hash = await c.hashKv(revision);
    expect(hash.revision).toBe(revision);
    expect(Number.isInteger(hash.hash)).toBe(true);
    expect(c.dials).toBe(1);
  });

  it('a token etcd invalidated is fetched again (password set anew), and the probe keeps working', async () => {
    const c = client(material);
    expect(await c.alarms()).toEqual([]);
    etcdctl(['--user', `root:${PASSWORD}`, 'user', 'passwd', 'root', '--interactive=false'], `${PASSWORD}\n`);
    expect(await c.alarms()).toEqual([]);
    await c.probe('/etcd-monitor/probe/grpc-unary-test', 5);
  });

  it('a wrong password: AUTH_FAILED, naming the member', async () => {
    const c = client(material, 'not-the-password');
    await expect(c.status()).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      endpoint: cluster.endpoints[0],
      message: expect.stringContaining('invalid user ID or password'),
    });
  });

  it('no client certificate: TLS_BAD_CERTIFICATE (etcd has --client-cert-auth), not a hang', async () => {
    const c = client({ ca: material.ca! });
    const started = Date.now();
    await expect(c.status()).rejects.toMatchObject({
      code: 'TLS_BAD_CERTIFICATE',
      endpoint: cluster.endpoints[0],
    });
    expect(Date.now() - started).toBeLessThan(TIMEOUTS.requestTimeoutMs);
  });

  it('a CA that did not sign the member: TLS_CERT_UNTRUSTED', async () => {
    const other = await generateTlsMaterial(otherCaDir);
    const c = client({ ca: await readFile(other.caFile), cert: material.cert!, key: material.key! });
    await expect(c.status()).rejects.toMatchObject({ code: 'TLS_CERT_UNTRUSTED' });
  });
});

describe('TLS certificate faults of an HTTP/2 server (in-process, ALPN h2)', () => {
  let dir: string;
  let faulty: FaultyTls;
  const servers: http2.Http2SecureServer[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'etcd-monitor-grpc-tls-'));
    faulty = await generateFaultyTls(dir);
  }, 30_000);
  afterAll(async () => {
    for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A TLS h2 server presenting `pair`, answering every call with an empty OK message. */
  async function serve(pair: { cert: Buffer; key: Buffer }): Promise<number> {
    const server = http2.createSecureServer({ cert: pair.cert, key: pair.key, ALPNProtocols: ['h2'] });
    server.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.on('data', () => undefined);
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.alloc(5));
      });
    });
    server.on('sessionError', () => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  it.each([
    ['good', 'ok'],
    ['expired', 'TLS_CERT_EXPIRED'],
    ['wrongHost', 'TLS_HOSTNAME_MISMATCH'],
    ['untrusted', 'TLS_CERT_UNTRUSTED'],
  ] as const)('server certificate %s: %s', async (which, code) => {
    const port = await serve(faulty[which]);
    const c = new GrpcUnaryClient({ host: '127.0.0.1', port, tls: { ca: faulty.ca } }, TIMEOUTS);
    try {
      const call = c.call('/etcdserverpb.Maintenance/Status', Buffer.alloc(0), (m) => m.length, {
        timeoutMs: 3000,
      });
      if (code === 'ok') expect(await call).toBe(0);
      else await expect(call).rejects.toMatchObject({ code, endpoint: `https://127.0.0.1:${port}` });
    } finally {
      c.close();
    }
  });
});
