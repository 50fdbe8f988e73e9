import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { H2Channel } from '../../src/protocol/h2/channel.js';
import { GrpcH2Connection, type H2ConnectOptions } from '../../src/protocol/h2/connection.js';
import { AlpnError } from '../../src/protocol/h2/dial.js';
import { H2ProtocolError, KeepaliveTimeoutError, StreamResetError } from '../../src/protocol/h2/errors.js';
import { MemberRequestError, RequestTimeoutError } from '../../src/util/errors.js';
import {
  RESPONSE_HEADERS,
  T,
  frame,
  goaway,
  grpcMessage,
  literal,
  rst,
  settings,
  startHostileServer,
  unaryResponse,
  type HostileServer,
  type Peer,
} from '../support/h2-hostile-server.js';
import { generateTlsMaterial } from '../../harness/tls.js';

// Protocol tests in the style of undici's test/http2-*.js: a raw-socket server sends one malformed or
// hostile thing; the client must fail that call (or connection) with a typed error naming the endpoint,
// tell the server why (GOAWAY with the RFC 7540 §7 code), keep the process up, and work on the next call.

interface Outcome {
  status: number;
  message: string | undefined;
  body: Buffer | undefined;
  error: MemberRequestError | undefined;
}

function call(ch: H2Channel | GrpcH2Connection, body = Buffer.from('request')): Promise<Outcome> {
  return new Promise((resolve) => {
    const method = ch.method('/etcdserverpb.Maintenance/Status');
    ch.unary(
      method,
      body.length,
      (dst, off) => body.copy(dst, off),
      (status, message, b, error) => resolve({ status, message, body: b, error }),
      true,
    );
  });
}

const OK = grpcMessage(Buffer.from('ok'));

const uncaught: unknown[] = [];
const record = (err: unknown): void => {
  uncaught.push(err);
};
let server: HostileServer;
let channel: H2Channel;
let opts: H2ConnectOptions;

beforeAll(() => {
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
});
afterAll(() => {
  process.off('uncaughtException', record);
  process.off('unhandledRejection', record);
});

beforeEach(async () => {
  server = await startHostileServer();
  opts = { timeoutMs: 3000, callTimeoutMs: 1000 };
  channel = new H2Channel({ host: '127.0.0.1', port: server.port }, opts);
});

afterEach(async () => {
  channel.close();
  await server.close();
  // The process stayed up: nothing escaped as an uncaught exception or unhandled rejection.
  expect(uncaught).toEqual([]);
});

/** The first request gets `hostile`; every later one (on any connection) a good answer. */
function firstRequest(hostile: (peer: Peer, id: number) => void): void {
  let first = true;
  server.onRequest = (peer, id) => {
    if (first) {
      first = false;
      hostile(peer, id);
    } else peer.send(unaryResponse(id));
  };
}

async function untilClientGoaway(peer: Peer): Promise<Array<[number, number]>> {
  for (let i = 0; i < 100 && peer.goaways().length === 0 && !peer.closed; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return peer.goaways();
}

// Each row: what the server sends instead of an answer, and the HTTP/2 error code the client must
// end the connection with (RFC 7540 §7: 0x1 PROTOCOL_ERROR, 0x3 FLOW_CONTROL_ERROR, 0x6
// FRAME_SIZE_ERROR, 0x9 COMPRESSION_ERROR).
const FATAL: Array<[string, (id: number) => Buffer, number]> = [
  ['short GOAWAY (4 bytes)', () => frame(T.GOAWAY, 0, 0, Buffer.alloc(4)), 0x6],
  ['short WINDOW_UPDATE (2 bytes)', () => frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(2)), 0x6],
  [
    'long WINDOW_UPDATE on a stream (5 bytes)',
    (id) => frame(T.WINDOW_UPDATE, 0, id, Buffer.alloc(5, 1)),
    0x6,
  ],
  ['short RST_STREAM (2 bytes)', (id) => frame(T.RST_STREAM, 0, id, Buffer.alloc(2)), 0x6],
  ['short PING (4 bytes)', () => frame(T.PING, 0, 0, Buffer.alloc(4)), 0x6],
  ['SETTINGS of 5 bytes', () => frame(T.SETTINGS, 0, 0, Buffer.alloc(5)), 0x6],
  ['SETTINGS ACK with a payload', () => frame(T.SETTINGS, 1, 0, Buffer.alloc(6)), 0x6],
  ['PRIORITY of 4 bytes', (id) => frame(T.PRIORITY, 0, id, Buffer.alloc(4)), 0x6],
  [
    'oversized HEADERS (20,000 bytes > MAX_FRAME_SIZE)',
    (id) => frame(T.HEADERS, 4, id, Buffer.alloc(20_000, 0x88)),
    0x6,
  ],
  ['oversized DATA (16,385 bytes)', (id) => frame(T.DATA, 0, id, Buffer.alloc(16_385)), 0x6],
  ['a 16 MiB length announced, 10 bytes sent', (id) => frame(T.DATA, 0, id, Buffer.alloc(10), 0xffffff), 0x6],
  ['HEADERS with PRIORITY flag but 3 bytes', (id) => frame(T.HEADERS, 0x24, id, Buffer.alloc(3)), 0x6],
  ['DATA on stream 0', () => frame(T.DATA, 0, 0, OK), 0x1],
  ['DATA on a server-initiated stream (2)', () => frame(T.DATA, 0, 2, OK), 0x1],
  ['HEADERS on a stream never opened (99)', () => frame(T.HEADERS, 4, 99, RESPONSE_HEADERS), 0x1],
  ['PUSH_PROMISE although push is disabled', (id) => frame(T.PUSH_PROMISE, 4, id, Buffer.alloc(4)), 0x1],
  ['padding longer than the DATA payload', (id) => frame(T.DATA, 0x8, id, Buffer.from([200, 1, 2])), 0x1],
  ['CONTINUATION without HEADERS', (id) => frame(T.CONTINUATION, 4, id, RESPONSE_HEADERS), 0x1],
  [
    'DATA in the middle of a header block',
    (id) => Buffer.concat([frame(T.HEADERS, 0, id, RESPONSE_HEADERS), frame(T.DATA, 0, id, OK)]),
    0x1,
  ],
  ['GOAWAY on a stream', (id) => frame(T.GOAWAY, 0, id, Buffer.alloc(8)), 0x1],
  ['SETTINGS INITIAL_WINDOW_SIZE 2^31', () => settings([[0x4, 2 ** 31]]), 0x3],
  ['SETTINGS MAX_FRAME_SIZE 100', () => settings([[0x5, 100]]), 0x1],
  ['SETTINGS ENABLE_PUSH 2', () => settings([[0x2, 2]]), 0x1],
  ['WINDOW_UPDATE of 0 on the connection', () => frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(4)), 0x1],
  [
    'WINDOW_UPDATE pushing the send window past 2^31-1',
    () => frame(T.WINDOW_UPDATE, 0, 0, Buffer.from([0x7f, 0xff, 0xff, 0xff])),
    0x3,
  ],
  [
    'HPACK index 70 with an empty dynamic table',
    (id) => frame(T.HEADERS, 5, id, Buffer.from([0x80 | 70])),
    0x9,
  ],
  [
    'HPACK table size update above our 4096',
    (id) => frame(T.HEADERS, 5, id, Buffer.from([0x3f, 0xe2, 0x1f])),
    0x9,
  ],
  ['HPACK size update after a field', (id) => frame(T.HEADERS, 5, id, Buffer.from([0x88, 0x20])), 0x9],
  ['HPACK truncated string', (id) => frame(T.HEADERS, 5, id, Buffer.from([0x00, 0x7f, 0x10, 0x61])), 0x9],
  [
    'HPACK Huffman EOS in a string',
    (id) => frame(T.HEADERS, 5, id, Buffer.from([0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x01, 0x61])),
    0x9,
  ],
  [
    'HPACK integer overflow',
    (id) => frame(T.HEADERS, 5, id, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])),
    0x9,
  ],
];

describe('hand-framed HTTP/2 client against a hostile server', () => {
  it.each(FATAL.map(([name, bytes, h2Code]) => ({ name, bytes, h2Code })))(
    '$name: GOAWAY code $h2Code, typed error, next call works',
    async ({ bytes, h2Code }) => {
      firstRequest((peer, id) => peer.send(bytes(id)));
      const failed = await call(channel);
      expect(failed.error).toBeInstanceOf(H2ProtocolError);
      expect(failed.error).toMatchObject({
        code: 'PROTOCOL_ERROR',
        h2Code,
        endpoint: `http://127.0.0.1:${server.port}`,
      });
      expect(failed.status).toBe(13); // INTERNAL, as gRPC maps HTTP/2 protocol errors
      // The server was told why (RFC 7540 §5.4.1).
      expect(await untilClientGoaway(server.peers[0]!)).toEqual([[0, h2Code]]);
      const next = await call(channel);
      expect(next).toMatchObject({ status: 0, body: OK });
      expect(channel.dials).toBe(2);
    },
  );

  it('CONTINUATION flood: connection dropped after 64 KiB, memory bounded, next call works', async () => {
    let written = 0;
    let peakGrowth = 0;
    const before = process.memoryUsage();
    const base = before.heapUsed + before.arrayBuffers;
    firstRequest((peer, id) => {
      const block = Buffer.alloc(16_384, 0x88);
      void peer
        .flood((i) => {
          if (i % 50 === 0) {
            const m = process.memoryUsage();
            peakGrowth = Math.max(peakGrowth, m.heapUsed + m.arrayBuffers - base);
          }
          // The flood: 20,000 CONTINUATION frames (320 MiB) held 323 MiB before.
          return i === 0
            ? frame(T.HEADERS, 0, id, block)
            : i <= 20_000
              ? frame(T.CONTINUATION, 0, id, block)
              : undefined;
        })
        .then((n) => {
          written = n;
        });
    });
    const failed = await call(channel);
    expect(failed.error).toMatchObject({ code: 'PROTOCOL_ERROR', h2Code: 0xb });
    expect(await untilClientGoaway(server.peers[0]!)).toEqual([[0, 0xb]]);
    await new Promise((r) => setTimeout(r, 200));
    // The client hung up long before the flood was through (socket buffers hold a few MiB at most).
    expect(written).toBeLessThan(64 * 1024 * 1024);
    expect(peakGrowth).toBeLessThan(64 * 1024 * 1024);
    expect(await call(channel)).toMatchObject({ status: 0 });
  });

  it.each([
    [0x0, 13, 'GRPC_INTERNAL'],
    [0x1, 13, 'GRPC_INTERNAL'],
    [0x2, 13, 'GRPC_INTERNAL'],
    [0x3, 13, 'GRPC_INTERNAL'],
    [0x4, 13, 'GRPC_INTERNAL'],
    [0x5, 13, 'GRPC_INTERNAL'],
    [0x6, 13, 'GRPC_INTERNAL'],
    [0x8, 1, 'GRPC_CANCELLED'],
    [0x9, 13, 'GRPC_INTERNAL'],
    [0xa, 13, 'GRPC_INTERNAL'],
    [0xb, 8, 'GRPC_RESOURCE_EXHAUSTED'],
    [0xc, 7, 'GRPC_PERMISSION_DENIED'],
    [0xd, 13, 'GRPC_INTERNAL'],
    [0x55, 13, 'GRPC_INTERNAL'],
  ])('RST_STREAM code %i fails only that call (gRPC %i, %s)', async (h2Code, grpc, code) => {
    firstRequest((peer, id) => peer.send(rst(id, h2Code)));
    const failed = await call(channel);
    expect(failed.error).toBeInstanceOf(StreamResetError);
    expect(failed.error).toMatchObject({ code, h2Code, grpcCode: grpc });
    expect(failed.status).toBe(grpc);
    expect(await call(channel)).toMatchObject({ status: 0, body: OK });
    expect(channel.dials).toBe(1); // a stream error leaves the connection alone
    expect(server.peers[0]!.goaways()).toEqual([]);
  });

  it('REFUSED_STREAM is replayed once: refused then answered succeeds; refused twice fails UNAVAILABLE', async () => {
    let n = 0;
    server.onRequest = (peer, id) => peer.send(n++ === 0 ? rst(id, 0x7) : unaryResponse(id));
    expect(await call(channel)).toMatchObject({ status: 0, body: OK });
    expect(n).toBe(2);
    server.onRequest = (peer, id) => {
      n++;
      peer.send(rst(id, 0x7));
    };
    const failed = await call(channel);
    expect(n).toBe(4); // sent, refused, replayed once, refused: no third attempt
    expect(failed.error).toMatchObject({ code: 'GRPC_UNAVAILABLE', h2Code: 0x7 });
    expect(failed.status).toBe(14);
  });

  it('SETTINGS_MAX_CONCURRENT_STREAMS=1: calls queue, never two streams open, all succeed', async () => {
    server.greeting = (peer) => peer.send(settings([[0x3, 1]]));
    server.onRequest = (peer, id) =>
      setTimeout(() => {
        peer.open.delete(id);
        peer.send(unaryResponse(id));
      }, 10);
    await channel.ready();
    const results = await Promise.all(Array.from({ length: 8 }, () => call(channel)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(0));
    expect(server.peers[0]!.maxOpen).toBe(1);
  });

  it('SETTINGS_MAX_CONCURRENT_STREAMS lowered mid-connection is honoured from then on', async () => {
    await channel.ready();
    expect(await call(channel)).toMatchObject({ status: 0 });
    server.peers[0]!.send(settings([[0x3, 2]]));
    await new Promise((r) => setTimeout(r, 50));
    server.peers[0]!.maxOpen = 0;
    server.onRequest = (peer, id) =>
      setTimeout(() => {
        peer.open.delete(id);
        peer.send(unaryResponse(id));
      }, 10);
    const results = await Promise.all(Array.from({ length: 6 }, () => call(channel)));
    expect(results.every((r) => r.status === 0)).toBe(true);
    expect(server.peers[0]!.maxOpen).toBe(2);
  });

  it('SETTINGS_HEADER_TABLE_SIZE 0: the client empties its table (size update 0) and stops indexing', async () => {
    server.greeting = (peer) => peer.send(settings([[0x1, 0]]));
    await channel.ready();
    await new Promise((r) => setTimeout(r, 20));
    expect(await call(channel)).toMatchObject({ status: 0 });
    expect(await call(channel)).toMatchObject({ status: 0 });
    const blocks = server.peers[0]!.frames.filter((f) => f.type === T.HEADERS).map((f) => f.payload);
    expect(blocks[0]![0]).toBe(0x20); // RFC 7541 §6.3: dynamic table size update to 0, first in the block
    for (const b of blocks) expect(b.includes(Buffer.from([0x40, 0x05]))).toBe(false); // no incremental indexing
  });

  it('GOAWAY mid-flight: calls above last-stream-id are replayed on a new connection', async () => {
    const seen: number[] = [];
    server.onRequest = (peer, id) => {
      if (peer !== server.peers[0]) return peer.send(unaryResponse(id));
      seen.push(id);
      if (seen.length < 3) return;
      // Processed only the first; the other two are the client's to send again (RFC 7540 §6.8).
      peer.send(goaway(seen[0]!, 0x0, 'graceful restart'), unaryResponse(seen[0]!));
      setTimeout(() => peer.socket.end(), 20);
    };
    await channel.ready();
    const results = await Promise.all([call(channel), call(channel), call(channel)]);
    expect(results.map((r) => r.status)).toEqual([0, 0, 0]);
    expect(channel.dials).toBe(2);
    expect(server.peers[1]!.frames.filter((f) => f.type === T.HEADERS)).toHaveLength(2);
  });

  it('GOAWAY twice for the same call: replayed once only, then CONNECTION_RESET', async () => {
    server.onRequest = (peer) => {
      peer.send(goaway(0, 0x0));
      setTimeout(() => peer.socket.end(), 20);
    };
    const failed = await call(channel);
    expect(failed.error).toMatchObject({ code: 'CONNECTION_RESET' });
    expect(failed.error!.message).toContain('GOAWAY NO_ERROR');
    expect(channel.dials).toBe(2);
    server.onRequest = (peer, id) => peer.send(unaryResponse(id));
    expect(await call(channel)).toMatchObject({ status: 0 });
  });

  it('GOAWAY with streams below last-stream-id still in flight: they finish on the old connection', async () => {
    server.onRequest = (peer, id) => {
      peer.send(goaway(id, 0x0));
      setTimeout(() => peer.send(unaryResponse(id)), 30);
    };
    expect(await call(channel)).toMatchObject({ status: 0, body: OK });
    expect(channel.dials).toBe(1);
    // Its last stream done, the GOAWAY'd connection closes itself (GOAWAY NO_ERROR back).
    expect(await untilClientGoaway(server.peers[0]!)).toEqual([[0, 0x0]]);
  });

  it('silence (black hole): the call times out, a PING goes unanswered, the connection is redialled', async () => {
    server.onRequest = (peer, id) => {
      if (peer === server.peers[0]) {
        peer.answerPings = false; // holds the socket, answers nothing
        return;
      }
      peer.send(unaryResponse(id));
    };
    await channel.ready();
    const conn = channel.connection!;
    const failed = await call(channel);
    expect(failed.error).toBeInstanceOf(RequestTimeoutError);
    expect(failed).toMatchObject({ status: 4, error: { code: 'REQUEST_TIMEOUT' } });
    for (let i = 0; i < 100 && !conn.dead; i++) await new Promise((r) => setTimeout(r, 50));
    expect(conn.failure).toBeInstanceOf(KeepaliveTimeoutError);
    expect(server.peers[0]!.frames.some((f) => f.type === T.PING && !(f.flags & 1))).toBe(true);
    expect(await call(channel)).toMatchObject({ status: 0 });
    expect(channel.dials).toBe(2);
  }, 20_000);

  it('a message over the 4 MiB cap fails only that call (MESSAGE_TOO_LARGE, RST_STREAM CANCEL)', async () => {
    firstRequest((peer, id) => {
      const chunk = Buffer.alloc(16_384, 1);
      void peer.flood((i) =>
        i === 0
          ? frame(T.HEADERS, 4, id, RESPONSE_HEADERS)
          : i <= 300
            ? frame(T.DATA, 0, id, chunk)
            : undefined,
      );
    });
    const failed = await call(channel);
    expect(failed.error).toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(failed.status).toBe(8);
    const resets = (): number[] =>
      server.peers[0]!.frames.filter((f) => f.type === T.RST_STREAM).map((f) => f.payload.readUInt32BE(0));
    for (let i = 0; i < 50 && resets().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(resets()).toEqual([0x8]);
    expect(await call(channel)).toMatchObject({ status: 0 });
    expect(channel.dials).toBe(1);
  });

  it('credentials are sent as never-indexed literals (RFC 7541 §7.1.3), every time', async () => {
    const secret = new H2Channel(
      { host: '127.0.0.1', port: server.port },
      { ...opts, headers: { token: 'sekrit-token' } },
    );
    try {
      expect(await call(secret)).toMatchObject({ status: 0 });
      expect(await call(secret)).toMatchObject({ status: 0 });
      const blocks = server.peers[0]!.frames.filter((f) => f.type === T.HEADERS).map((f) => f.payload);
      const neverIndexed = Buffer.concat([
        Buffer.from([0x10, 5]),
        Buffer.from('token'),
        Buffer.from([12]),
        Buffer.from('sekrit-token'),
      ]);
      expect(blocks).toHaveLength(2);
      for (const b of blocks) {
        expect(b.includes(neverIndexed)).toBe(true);
        expect(b.includes(Buffer.concat([Buffer.from([0x40, 5]), Buffer.from('token')]))).toBe(false);
      }
    } finally {
      secret.close();
    }
  });

  it('a server whose first frame is not SETTINGS fails the dial with PROTOCOL_ERROR', async () => {
    server.greeting = () => undefined;
    const bad = await startHostileServer();
    bad.greeting = (peer) => peer.send(frame(T.PING, 0, 0, Buffer.alloc(8)));
    const ch = new H2Channel({ host: '127.0.0.1', port: bad.port }, opts);
    try {
      await expect(ch.ready()).rejects.toMatchObject({ code: 'PROTOCOL_ERROR', h2Code: 0x1 });
    } finally {
      ch.close();
      await bad.close();
    }
  });

  it('an HPACK literal that inserts into the table is kept in sync across responses', async () => {
    // Incremental indexing (0x40) by the server, then a reference to it (index 62) in the next answer.
    const indexed = Buffer.concat([
      Buffer.from([0x40, 11]),
      Buffer.from('grpc-status'),
      Buffer.from([1]),
      Buffer.from('0'),
    ]);
    let n = 0;
    server.onRequest = (peer, id) =>
      peer.send(
        frame(T.HEADERS, 4, id, RESPONSE_HEADERS),
        frame(T.DATA, 0, id, OK),
        frame(T.HEADERS, 5, id, n++ === 0 ? indexed : Buffer.from([0x80 | 62])),
      );
    expect(await call(channel)).toMatchObject({ status: 0 });
    expect(await call(channel)).toMatchObject({ status: 0 });
    expect(await call(channel, Buffer.from('x'))).toMatchObject({ status: 0 });
  });

  it('a trailer with a grpc-status the client does not know is UNKNOWN, with the server message', async () => {
    server.onRequest = (peer, id) =>
      peer.send(
        frame(
          T.HEADERS,
          5,
          id,
          Buffer.concat([
            Buffer.from([0x88]),
            literal('grpc-status', '99'),
            literal('grpc-message', 'odd%20one'),
          ]),
        ),
      );
    const r = await call(channel);
    expect(r).toMatchObject({ status: 2, message: 'odd one', error: { code: 'GRPC_UNKNOWN' } });
  });
});

describe('TLS without ALPN h2', () => {
  let dir: string;
  let material: { key: Buffer; cert: Buffer; ca: Buffer };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'h2-hostile-tls-'));
    const m = await generateTlsMaterial(dir);
    material = {
      key: await readFile(m.serverKeyFile),
      cert: await readFile(m.serverCertFile),
      ca: await readFile(m.caFile),
    };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function dialFails(alpn: string[]): Promise<unknown> {
    const tlsServer = await startHostileServer({ tls: { key: material.key, cert: material.cert, alpn } });
    try {
      const target = { host: '127.0.0.1', port: tlsServer.port, tls: { ca: material.ca } };
      return await GrpcH2Connection.connect(target, opts).then(
        () => new Error('connected'),
        (e: unknown) => e,
      );
    } finally {
      await tlsServer.close();
    }
  }

  it('a TLS server without ALPN: the dial fails with PROTOCOL_ERROR (AlpnError) naming the endpoint', async () => {
    const err = await dialFails([]);
    expect(err).toBeInstanceOf(AlpnError);
    expect(err).toMatchObject({ code: 'PROTOCOL_ERROR', negotiated: false });
    expect((err as AlpnError).endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a TLS server speaking only http/1.1 refuses our h2 (RFC 7301 alert): a typed TLS error, not a hang', async () => {
    const err = await dialFails(['http/1.1']);
    expect(err).toMatchObject({ code: 'TLS_OTHER', tlsCode: 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL' });
  });

  it('the same certificate with ALPN h2 works (the failures above are ALPN, not TLS setup)', async () => {
    const h2Server = await startHostileServer({
      tls: { key: material.key, cert: material.cert, alpn: ['h2'] },
    });
    const ch = new H2Channel({ host: '127.0.0.1', port: h2Server.port, tls: { ca: material.ca } }, opts);
    try {
      expect(await call(ch)).toMatchObject({ status: 0, body: OK });
    } finally {
      ch.close();
      await h2Server.close();
    }
  });
});
