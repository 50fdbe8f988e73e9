// The exporter's gRPC client (src/protocol/grpc over node:http2) against an in-process node:http2
// server that misbehaves the way a stalled member, a black-holing network, a broken proxy or a buggy
// member does. Each case checks the typed error (its stable code) and that the next call works.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemberClient } from '../../src/etcd/member-client.js';
import { GrpcUnaryClient, type UnaryClientOptions } from '../../src/protocol/grpc/unary.js';
import { generateTlsMaterial } from '../../harness/tls.js';
import { waitFor } from '../../harness/processes.js';

/** A StatusResponse with member_id 0x2a in its header and version "3.4.23". */
const STATUS = Buffer.from([0x0a, 0x02, 0x10, 0x2a, 0x12, 0x06, ...Buffer.from('3.4.23')]);
const STATUS_PATH = '/etcdserverpb.Maintenance/Status';

function frame(message: Buffer, declaredLength = message.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, message]);
}

interface Seen {
  readonly path: string;
  readonly headers: http2.IncomingHttpHeaders;
}

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

/** Answers one unary call with `message` and grpc-status 0 (headers, DATA, trailers). */
function ok(message: Buffer): Handler {
  return (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(frame(message));
  };
}

/** Trailers-Only: the status in the response headers, no body. */
function status(code: number, message: string): Handler {
  return (stream) =>
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(code),
        'grpc-message': message,
      },
      { endStream: true },
    );
}

/** An in-process h2c server; `handlers` by :path, `seen` every request's headers. */
class FakeMember {
  readonly seen: Seen[] = [];
  readonly handlers = new Map<string, Handler>();
  readonly sessions = new Set<http2.ServerHttp2Session>();
  private constructor(
    readonly server: http2.Http2Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeMember> {
    const server = http2.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const member = new FakeMember(server, (server.address() as net.AddressInfo).port);
    server.on('session', (s) => {
      member.sessions.add(s);
      s.on('close', () => member.sessions.delete(s));
    });
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => undefined);
      stream.on('end', () => {
        const p = String(headers[':path']);
        member.seen.push({ path: p, headers });
        const handler = member.handlers.get(p) ?? status(12, 'unimplemented');
        handler(stream, headers, Buffer.concat(chunks).subarray(5));
      });
    });
    return member;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP relay that can swallow every byte both ways (a black-holing firewall), noting when sockets close. */
class BlackHole {
  swallow = false;
  accepted = 0;
  readonly clientClosedAt: number[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<BlackHole> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const hole = new BlackHole(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => {
      hole.accepted++;
      const upstream = net.connect(targetPort, '127.0.0.1');
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        hole.sockets.add(s);
        s.on('error', end);
        s.on('close', () => hole.sockets.delete(s));
      }
      client.on('data', (d: Buffer) => hole.swallow || upstream.write(d));
      upstream.on('data', (d: Buffer) => hole.swallow || client.write(d));
      client.on('close', () => {
        hole.clientClosedAt.push(Date.now());
        end();
      });
      upstream.on('close', end);
    });
    return hole;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const target = (port: number) => ({ host: '127.0.0.1', port });
const decodeRaw = (m: Buffer): Buffer => m;

describe('gRPC unary client against a misbehaving in-process HTTP/2 server', () => {
  let member: FakeMember;
  const clients: { close(): void }[] = [];
  const client = (opts: Partial<UnaryClientOptions> = {}, port = member.port) => {
    const c = new GrpcUnaryClient(target(port), { dialTimeoutMs: 2000, requestTimeoutMs: 2000, ...opts });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    member = await FakeMember.start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    member.handlers.clear();
    member.seen.length = 0;
  });
  afterAll(async () => {
    await member?.close();
  });

  it('sends the deadline as grpc-timeout and fails a call the member never answers with REQUEST_TIMEOUT', async () => {
    member.handlers.set('/slow', () => undefined); // accepts, never answers
    member.handlers.set(STATUS_PATH, ok(STATUS));
    const c = client();
    const started = Date.now();
    await expect(
      c.call('/slow', Buffer.alloc(0), decodeRaw, { timeoutMs: 700, what: 'status' }),
    ).rejects.toMatchObject({
      name: 'RequestTimeoutError',
      code: 'REQUEST_TIMEOUT',
      endpoint: member.endpoint,
      message: expect.stringContaining('no answer within 700 ms'),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(690);
    // PROTOCOL-HTTP2.md: TimeoutValue is at most 8 digits; ours is the time left, in milliseconds.
    const timeout = String(member.seen.find((s) => s.path === '/slow')?.headers['grpc-timeout']);
    expect(timeout).toMatch(/^\d{1,8}m$/);
    expect(Number(timeout.slice(0, -1))).toBeGreaterThan(600);
    expect(Number(timeout.slice(0, -1))).toBeLessThanOrEqual(700);
    // The session is still fine (the member answers the keepalive PING): the next call works on it.
    expect(await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).toEqual(STATUS);
    expect(c.dials).toBe(1);
  });

  it('a black-holed connection is dropped within twice the request timeout and redialled', async () => {
    member.handlers.set(STATUS_PATH, ok(STATUS));
    const hole = await BlackHole.start(member.port);
    try {
      const timeoutMs = 800;
      const c = client({ requestTimeoutMs: timeoutMs, idlePingMs: 60_000 }, hole.port);
      expect(await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs })).toEqual(STATUS);
      hole.swallow = true;
      const started = Date.now();
      await expect(c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs })).rejects.toMatchObject({
        code: 'REQUEST_TIMEOUT',
      });
      // Deadline, then a PING without an ACK for another request timeout: the session is destroyed.
      await waitFor(() => hole.clientClosedAt.length === 1, {
        what: 'the session to be dropped',
        timeoutMs: 5000,
      });
      const droppedAfter = (hole.clientClosedAt[0] as number) - started;
      expect(droppedAfter).toBeGreaterThanOrEqual(2 * timeoutMs - 50);
      // 2 × 800 ms by design; the margin is for timers on a loaded two-core machine.
      expect(droppedAfter).toBeLessThan(2 * timeoutMs + 1500);
      // The network heals: the next call dials a new connection and is answered.
      hole.swallow = false;
      expect(await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs })).toEqual(STATUS);
      expect(c.dials).toBe(2);
      expect(hole.accepted).toBe(2);
    } finally {
      await hole.close();
    }
  });

  it('an idle connection that went silent is dropped by the idle PING, before any call needs it', async () => {
    member.handlers.set(STATUS_PATH, ok(STATUS));
    const hole = await BlackHole.start(member.port);
    try {
      const c = client({ requestTimeoutMs: 500, idlePingMs: 300 }, hole.port);
      await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 500 });
      hole.swallow = true;
      const swallowedAt = Date.now();
      await waitFor(() => hole.clientClosedAt.length === 1, {
        what: 'the idle session to be dropped',
        timeoutMs: 5000,
      });
      // Idle check every 300 ms + a 500 ms PING timeout.
      expect((hole.clientClosedAt[0] as number) - swallowedAt).toBeLessThan(300 + 300 + 500 + 1500);
      hole.swallow = false;
      expect(await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).toEqual(STATUS);
      expect(c.dials).toBe(2);
    } finally {
      await hole.close();
    }
  });

  it('a server that accepts and never speaks (no SETTINGS, no PING ACK): REQUEST_TIMEOUT, then the session is dropped', async () => {
    const sockets: net.Socket[] = [];
    const closedAt: number[] = [];
    const silent = net.createServer((s) => {
      sockets.push(s);
      s.resume(); // read (and drop) what arrives, so the client's FIN is seen
      s.on('close', () => closedAt.push(Date.now()));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const c = client({ requestTimeoutMs: 500 }, (silent.address() as net.AddressInfo).port);
      const started = Date.now();
      await expect(c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 500 })).rejects.toMatchObject(
        {
          code: 'REQUEST_TIMEOUT',
        },
      );
      await waitFor(() => closedAt.length === 1, {
        what: 'the silent connection to be closed',
        timeoutMs: 5000,
      });
      expect((closedAt[0] as number) - started).toBeLessThan(2 * 500 + 1500);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('an answer over the 4 MiB cap fails with MESSAGE_TOO_LARGE; the next call works', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x41);
    member.handlers.set('/big', ok(big));
    // Declares 64 MiB and stalls: refused on the 5-byte prefix, without waiting for (or buffering) the rest.
    member.handlers.set('/declared', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(frame(Buffer.alloc(16), 64 * 1024 * 1024));
    });
    member.handlers.set(STATUS_PATH, ok(STATUS));
    const c = client();
    await expect(c.call('/big', Buffer.alloc(0), decodeRaw, { timeoutMs: 5000 })).rejects.toMatchObject({
      name: 'MessageTooLargeError',
      code: 'MESSAGE_TOO_LARGE',
    });
    const started = Date.now();
    await expect(c.call('/declared', Buffer.alloc(0), decodeRaw, { timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).toEqual(STATUS);
    expect(c.dials).toBe(1);
  });

  it('a request over the cap is refused before anything is sent', async () => {
    const c = client({ maxMessageBytes: 1024 });
    await expect(
      c.call(STATUS_PATH, Buffer.alloc(1025), decodeRaw, { timeoutMs: 1000 }),
    ).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      message: expect.stringContaining('request of 1025 bytes'),
    });
    expect(member.seen).toHaveLength(0);
  });

  it('bad protobuf in an answer: BAD_RESPONSE naming the member and the call; the next call works', async () => {
    const mc = new MemberClient(member.endpoint, undefined, { dialTimeoutMs: 2000, requestTimeoutMs: 2000 });
    clients.push(mc);
    // Field 1 (header) declares 5 bytes, 1 follows.
    member.handlers.set(STATUS_PATH, ok(Buffer.from([0x0a, 0x05, 0x08])));
    const err: unknown = await mc.status().catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'BadResponseError',
      code: 'BAD_RESPONSE',
      endpoint: member.endpoint,
      what: 'status',
    });
    expect((err as Error).message).toContain(`${member.endpoint}: status: `);
    expect((err as Error).message).toContain('truncated');
    member.handlers.set(STATUS_PATH, ok(STATUS));
    expect((await mc.status()).memberId).toBe('2a');
  });

  it.each([
    [
      'a non-OK status with a percent-encoded message',
      status(9, 'etcdserver%3A not %E2%9C%93'),
      'GRPC_FAILED_PRECONDITION',
      'etcdserver: not ✓',
    ],
    ['UNAVAILABLE', status(14, 'etcdserver: leader changed'), 'GRPC_UNAVAILABLE', 'leader changed'],
    [
      'a server DEADLINE_EXCEEDED',
      status(4, 'context deadline exceeded'),
      'REQUEST_TIMEOUT',
      'context deadline exceeded',
    ],
    [
      'HTTP 503 from a proxy',
      (stream: http2.ServerHttp2Stream) =>
        stream.respond({ ':status': 503, 'content-type': 'text/plain' }, { endStream: true }),
      'GRPC_UNAVAILABLE',
      'HTTP status 503',
    ],
    [
      'a non-gRPC content-type',
      (stream: http2.ServerHttp2Stream) => {
        stream.respond({ ':status': 200, 'content-type': 'text/html' });
        stream.end('<html>');
      },
      'PROTOCOL_ERROR',
      'content-type text/html',
    ],
    [
      'no grpc-status at all',
      (stream: http2.ServerHttp2Stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.end(frame(STATUS));
      },
      'PROTOCOL_ERROR',
      'no grpc-status',
    ],
    [
      'a message cut short',
      (stream: http2.ServerHttp2Stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(frame(STATUS, STATUS.length + 10));
      },
      'PROTOCOL_ERROR',
      'cut short',
    ],
    [
      'a compressed message (none was offered)',
      (stream: http2.ServerHttp2Stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        const body = frame(STATUS);
        body[0] = 1;
        stream.end(body);
      },
      'PROTOCOL_ERROR',
      'compressed-flag',
    ],
    [
      'RST_STREAM INTERNAL_ERROR',
      (stream: http2.ServerHttp2Stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR),
      'GRPC_INTERNAL',
      'stream reset',
    ],
  ] as [string, Handler, string, string][])(
    '%s: typed error %s; the next call works',
    async (_, handler, code, text) => {
      member.handlers.set('/odd', handler);
      member.handlers.set(STATUS_PATH, ok(STATUS));
      const c = client();
      await expect(c.call('/odd', Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).rejects.toMatchObject({
        code,
        message: expect.stringContaining(text),
      });
      expect(await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).toEqual(STATUS);
      expect(c.dials).toBe(1);
    },
  );

  it('a stream refused unprocessed (REFUSED_STREAM) is sent once more; twice refused fails', async () => {
    let calls = 0;
    member.handlers.set('/refuse-once', (stream, headers, body) => {
      calls++;
      if (calls === 1) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else ok(STATUS)(stream, headers, body);
    });
    member.handlers.set('/refuse-always', (stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    const c = client();
    expect(await c.call('/refuse-once', Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).toEqual(STATUS);
    expect(calls).toBe(2);
    await expect(
      c.call('/refuse-always', Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 }),
    ).rejects.toMatchObject({
      code: 'GRPC_UNAVAILABLE',
    });
    expect(member.seen.filter((s) => s.path === '/refuse-always')).toHaveLength(2);
  });

  it('after a GOAWAY the call in flight completes and the next call goes to a new session', async () => {
    // GOAWAY (NO_ERROR, last stream = this one) before the answer, as a member that is shutting down does.
    member.handlers.set('/last', (stream, headers, body) => {
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id as number);
      ok(STATUS)(stream, headers, body);
    });
    member.handlers.set(STATUS_PATH, ok(STATUS));
    const c = client();
    expect(await c.call('/last', Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).toEqual(STATUS);
    expect(await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 })).toEqual(STATUS);
    expect(c.dials).toBe(2);
  });

  it('the auth token travels as a never-indexed header (RFC 7541 §7.1.3), the password only in the body', async () => {
    member.handlers.set(STATUS_PATH, ok(STATUS));
    const c = client();
    await c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 2000, token: 'tok.en-1' });
    const headers = member.seen[0]?.headers as http2.IncomingHttpHeaders & Record<symbol, unknown>;
    expect(headers['token']).toBe('tok.en-1');
    // node:http2 lists the headers that arrived as never-indexed literals under this symbol.
    expect(headers[http2.sensitiveHeaders]).toContain('token');
    expect(headers['content-type']).toBe('application/grpc');
    expect(headers['te']).toBe('trailers');
  });
});

describe('MemberClient fetches a new etcd token only on what etcd says about tokens', () => {
  let member: FakeMember;
  let authentications = 0;
  const clients: MemberClient[] = [];
  const ALARM = '/etcdserverpb.Maintenance/Alarm';

  beforeAll(async () => {
    member = await FakeMember.start();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await member?.close();
  });

  /** Authenticate hands out tok-1, tok-2, ...; the alarm call rejects every token but the newest once with `rejection`. */
  function serve(rejection: Handler): void {
    authentications = 0;
    member.handlers.set('/etcdserverpb.Auth/Authenticate', (stream, headers, body) => {
      authentications++;
      const token = Buffer.from(`tok-${authentications}`);
      ok(Buffer.concat([Buffer.from([0x12, token.length]), token]))(stream, headers, body);
    });
    let rejected = false;
    member.handlers.set(ALARM, (stream, headers, body) => {
      if (!rejected) {
        rejected = true;
        rejection(stream, headers, body);
      } else ok(Buffer.alloc(0))(stream, headers, body);
    });
  }

  // etcd's own answers (api/v3rpc/rpctypes/error.go; auth/store.go via 3.4's unconverted Alarm errors).
  it.each([
    ['UNAUTHENTICATED "etcdserver: invalid auth token"', status(16, 'etcdserver: invalid auth token'), true],
    ["UNKNOWN with auth.ErrInvalidAuthToken's exact text", status(2, 'auth: invalid auth token'), true],
    [
      'INVALID_ARGUMENT "etcdserver: revision of auth store is old"',
      status(3, 'etcdserver: revision of auth store is old'),
      true,
    ],
    ['UNKNOWN with other text that mentions tokens', status(2, 'something about an auth token'), false],
    ['PERMISSION_DENIED', status(7, 'etcdserver: permission denied'), false],
  ] as [string, Handler, boolean][])('%s: refresh %s', async (_, rejection, refreshes) => {
    serve(rejection);
    const mc = new MemberClient(member.endpoint, undefined, {
      dialTimeoutMs: 2000,
      requestTimeoutMs: 2000,
      auth: { username: 'root', password: 'pw' },
    });
    clients.push(mc);
    member.seen.length = 0;
    if (refreshes) {
      expect(await mc.alarms()).toEqual([]);
      expect(authentications).toBe(2);
      const tokens = member.seen.filter((s) => s.path === ALARM).map((s) => s.headers['token']);
      expect(tokens).toEqual(['tok-1', 'tok-2']);
    } else {
      await expect(mc.alarms()).rejects.toMatchObject({ code: expect.stringMatching(/^GRPC_/) });
      expect(authentications).toBe(1);
    }
  });
});

describe('TLS without ALPN h2', () => {
  let dir: string;
  let server: tls.Server;
  let port: number;
  let ca: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'etcd-monitor-alpn-'));
    const m = await generateTlsMaterial(dir);
    // A TLS server that offers no ALPN protocol at all (an HTTP/1.1-only proxy, a misconfigured LB).
    server = tls.createServer(
      { key: await readFile(m.serverKeyFile), cert: await readFile(m.serverCertFile) },
      (s) => s.on('error', () => undefined),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
    ca = await readFile(m.caFile);
  }, 30_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is refused with PROTOCOL_ERROR before any HTTP/2 byte is sent', async () => {
    const c = new GrpcUnaryClient(
      { host: '127.0.0.1', port, tls: { ca } },
      { dialTimeoutMs: 2000, requestTimeoutMs: 2000 },
    );
    try {
      await expect(
        c.call(STATUS_PATH, Buffer.alloc(0), decodeRaw, { timeoutMs: 2000 }),
      ).rejects.toMatchObject({
        code: 'PROTOCOL_ERROR',
        message: expect.stringContaining('ALPN'),
      });
    } finally {
      c.close();
    }
  });
});
