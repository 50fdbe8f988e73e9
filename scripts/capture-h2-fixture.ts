// Captures the raw HTTP/2 bytes a real etcd sends back to the hand-framed gRPC client, for the protocol
// fuzz test (test/protocol/h2-fuzz.test.ts). See test/fixtures/h2/README.md.
// Usage: node --import tsx scripts/capture-h2-fixture.ts [out.json]
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrpcH2Connection } from '../src/protocol/h2/connection.js';
import { ETCD_BIN, startCluster } from '../harness/etcd-cluster.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? path.join(repoRoot, 'test/fixtures/h2/etcd-3.4-responses.json');

/** Protobuf field `n` of wire type 2 (length-delimited). */
const bytesField = (n: number, b: Buffer): Buffer =>
  Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
const varintField = (n: number, v: number): Buffer => {
  const out: number[] = [n << 3];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v & 0x7f) | 0x80);
  out.push(v);
  return Buffer.from(out);
};
function lengthDelimited(n: number, b: Buffer): Buffer {
  const len: number[] = [];
  let v = b.length;
  for (; v >= 0x80; v = Math.floor(v / 128)) len.push((v & 0x7f) | 0x80);
  len.push(v);
  return Buffer.concat([Buffer.from([(n << 3) | 2, ...len]), b]);
}

/** The calls, in order (stream ids 1, 3, 5, ...): the exporter's reads plus KV traffic and an error. */
const CALLS: Array<{ path: string; request: Buffer; note: string }> = [
  { path: '/etcdserverpb.Maintenance/Status', request: Buffer.alloc(0), note: 'Status' },
  { path: '/etcdserverpb.Cluster/MemberList', request: Buffer.alloc(0), note: 'MemberList' },
  { path: '/etcdserverpb.Maintenance/Alarm', request: Buffer.alloc(0), note: 'AlarmList (action GET)' },
  {
    path: '/etcdserverpb.KV/Put',
    request: Buffer.concat([bytesField(1, Buffer.from('fuzz/small')), bytesField(2, Buffer.from('v'))]),
    note: 'Put small',
  },
  {
    path: '/etcdserverpb.KV/Put',
    request: Buffer.concat([
      bytesField(1, Buffer.from('fuzz/big')),
      lengthDelimited(2, Buffer.alloc(40_000, 'x')),
    ]),
    note: 'Put 40,000-byte value',
  },
  {
    path: '/etcdserverpb.KV/Range',
    request: bytesField(1, Buffer.from('fuzz/big')),
    note: 'Range of the 40,000-byte value (several DATA frames)',
  },
  {
    path: '/etcdserverpb.KV/Range',
    request: Buffer.concat([bytesField(1, Buffer.from('fuzz/')), bytesField(2, Buffer.from('fuzz0'))]),
    note: 'Range prefix',
  },
  {
    path: '/etcdserverpb.KV/Range',
    request: Buffer.concat([bytesField(1, Buffer.from('fuzz/small')), varintField(4, 1_000_000)]),
    note: 'Range at a future revision: grpc-status 11 with a grpc-message',
  },
  {
    path: '/etcdserverpb.Maintenance/Status',
    request: Buffer.alloc(0),
    note: 'Status again (HPACK dynamic table hits)',
  },
];

async function main(): Promise<void> {
  const cluster = await startCluster({ size: 1 });
  const fromServer: Buffer[] = [];
  const etcdUrl = new URL(cluster.endpoints[0]!);
  // A recording TCP relay on loopback between the client and etcd.
  const relay = net.createServer((client) => {
    const upstream = net.connect(Number(etcdUrl.port), etcdUrl.hostname);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      fromServer.push(Buffer.from(chunk));
      client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const port = (relay.address() as net.AddressInfo).port;
  try {
    const conn = await GrpcH2Connection.connect(
      { host: '127.0.0.1', port },
      { timeoutMs: 5000, callTimeoutMs: 5000 },
    );
    const results: string[] = [];
    for (const c of CALLS) {
      // One call at a time, so the captured stream is in call order (stream ids 1, 3, 5, ...).
      const status = await new Promise<number>((resolve) =>
        conn.unary(
          conn.method(c.path),
          c.request.length,
          (dst, off) => c.request.copy(dst, off),
          (s) => resolve(s),
          true,
        ),
      );
      results.push(`${c.note}: grpc-status ${status}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    conn.close();
    const etcdVersion = execFileSync(ETCD_BIN, ['--version']).toString().split('\n')[0];
    await writeFile(
      out,
      `${JSON.stringify(
        {
          capturedAt: new Date().toISOString(),
          etcd: etcdVersion,
          how: 'scripts/capture-h2-fixture.ts: hand-framed client -> recording loopback relay -> 1-member etcd',
          calls: CALLS.map((c, i) => ({
            path: c.path,
            request: c.request.toString('base64'),
            note: c.note,
            result: results[i],
          })),
          // Server -> client bytes as read from the socket, chunk boundaries kept.
          serverChunks: fromServer.map((b) => b.toString('base64')),
        },
        null,
        2,
      )}\n`,
    );
    process.stdout.write(
      `${results.join('\n')}\nwrote ${out} (${fromServer.reduce((n, b) => n + b.length, 0)} bytes)\n`,
    );
  } finally {
    relay.close();
    await cluster.destroy();
  }
}

await main();
