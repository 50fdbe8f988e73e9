import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Client, credentials, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyTransportError } from '../../src/util/classify-transport.js';
import { MemberRequestError, TlsError, TRANSPORT_ERROR_CODES } from '../../src/util/errors.js';
import { freePort } from '../../harness/free-port.js';
import { generateFaultyTls, type FaultyTls } from '../support/tls-faults.js';

// Every error classified here is a real one, produced in the test by Node, OpenSSL, undici, nghttp2 or
// grpc-js against a loopback server that misbehaves in one way. Only codes are asserted: messages are
// for people and may change.

let dir: string;
let certs: FaultyTls;
const closers: (() => void)[] = [];

/** Starts a server on a free loopback port and remembers to close it. */
async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

/** Open sockets of a server, destroyed at the end so no server waits for its clients. */
function tracked<T extends net.Server>(server: T): T {
  server.on('connection', (s: net.Socket) => closers.push(() => s.destroy()));
  server.on('secureConnection', (s: net.Socket) => closers.push(() => s.destroy()));
  return server;
}

/** The error `fn` rejects with; fails the test if it resolves. */
async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, the call succeeded');
}

/** A TLS socket's first error: at handshake, or (TLS 1.3 client-certificate rejection) on the first read. */
function tlsFailure(options: tls.ConnectionOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    socket.once('error', (err) => {
      socket.destroy();
      resolve(err);
    });
    socket.once('secureConnect', () => socket.write('ping\n'));
    socket.once('close', () => reject(new Error('closed without an error')));
  });
}

/** The first error of a node:http2 session or of one request on it. */
function h2Failure(url: string, options: http2.SecureClientSessionOptions = {}): Promise<unknown> {
  return new Promise((resolve) => {
    const session = http2.connect(url, options);
    const done = (err: unknown) => {
      session.destroy();
      resolve(err);
    };
    session.once('error', done);
    const req = session.request({ ':path': '/etcdserverpb.Maintenance/Status', ':method': 'POST' });
    req.once('error', done);
    req.once('response', () => done(new Error('unexpected response')));
    req.end();
  });
}

/** One grpc-js unary call answered by a node:http2 server with `grpc-status: code`. */
async function grpcFailure(port: number, code: number): Promise<unknown> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        `/test.Status/Code${code}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        (err) => (err ? resolve(err) : reject(new Error('call succeeded'))),
      ),
    );
  } finally {
    client.close();
  }
}

const ports: Record<string, number> = {};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'classify-'));
  certs = await generateFaultyTls(dir);
  ports.closed = await freePort();
  const tlsServer = (pair: { cert: Buffer; key: Buffer }, extra: tls.TlsOptions = {}) =>
    listen(tracked(tls.createServer({ ...pair, ...extra }, (s) => s.on('error', () => {}))));
  ports.expired = await tlsServer(certs.expired);
  ports.wrongHost = await tlsServer(certs.wrongHost);
  ports.untrusted = await tlsServer(certs.untrusted);
  ports.clientCert = await tlsServer(certs.good, {
    requestCert: true,
    rejectUnauthorized: true,
    ca: certs.ca,
  });
  ports.clientCert12 = await tlsServer(certs.good, {
    requestCert: true,
    rejectUnauthorized: true,
    ca: certs.ca,
    maxVersion: 'TLSv1.2',
  });
  // Accepts and never answers: a stalled member (or a TLS handshake that never completes).
  ports.silent = await listen(tracked(net.createServer(() => {})));
  // Plain text where HTTP/1.1 or TLS is expected.
  ports.garbage = await listen(tracked(net.createServer((s) => s.end('this is not HTTP at all\r\n\r\n'))));
  // RST right after accepting.
  ports.reset = await listen(tracked(net.createServer((s) => s.resetAndDestroy())));
  // Clean close after the request arrived, before any answer.
  ports.hangup = await listen(tracked(net.createServer((s) => s.once('data', () => s.end()))));
  // HTTP/2 server that resets every stream with PROTOCOL_ERROR.
  const rst = http2.createServer();
  rst.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
  });
  ports.rstStream = await listen(tracked(rst));
  // gRPC over HTTP/2: answers /test.Status/Code<n> with trailers-only grpc-status n.
  const grpc = http2.createServer();
  grpc.on('stream', (stream, headers) => {
    const code = String(headers[':path']).replace('/test.Status/Code', '');
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': code,
        'grpc-message': 'from test',
      },
      { endStream: true },
    );
  });
  ports.grpc = await listen(tracked(grpc));
}, 60_000);

afterAll(() => {
  for (const close of closers.reverse()) close();
  rmSync(dir, { recursive: true, force: true });
});

const url = (name: string, scheme = 'http') => `${scheme}://127.0.0.1:${ports[name]}`;
const trusting = () => ({ ca: certs.ca });

interface Case {
  readonly name: string;
  readonly produce: () => Promise<unknown>;
  readonly code: string;
  readonly ctx?: { authenticating?: boolean };
  readonly instance?: abstract new (...args: never[]) => MemberRequestError;
}

const cases: Case[] = [
  {
    name: 'net: nothing listens (ECONNREFUSED)',
    produce: () =>
      failure(
        () =>
          new Promise((resolve, reject) =>
            net.connect(ports.closed!, '127.0.0.1').on('error', reject).on('connect', resolve),
          ),
      ),
    code: 'CONNECTION_REFUSED',
  },
  {
    name: 'undici: nothing listens',
    produce: () => failure(() => request(`${url('closed')}/metrics`)),
    code: 'CONNECTION_REFUSED',
  },
  {
    name: 'undici: nothing listens on localhost (both families tried: AggregateError)',
    produce: () => failure(() => request(`http://localhost:${ports.closed}/metrics`)),
    code: 'CONNECTION_REFUSED',
  },
  {
    name: 'node:http2: nothing listens',
    produce: () => h2Failure(url('closed')),
    code: 'CONNECTION_REFUSED',
  },
  {
    name: 'tls: the member certificate expired (CERT_HAS_EXPIRED)',
    produce: () => tlsFailure({ host: '127.0.0.1', port: ports.expired!, ...trusting() }),
    code: 'TLS_CERT_EXPIRED',
    instance: TlsError,
  },
  {
    name: 'undici: the member certificate expired',
    produce: () =>
      failure(() =>
        request(`${url('expired', 'https')}/metrics`, { dispatcher: new Agent({ connect: trusting() }) }),
      ),
    code: 'TLS_CERT_EXPIRED',
  },
  {
    name: 'node:http2: the member certificate expired',
    produce: () => h2Failure(url('expired', 'https'), trusting()),
    code: 'TLS_CERT_EXPIRED',
  },
  {
    name: 'tls: the certificate names another host (ERR_TLS_CERT_ALTNAME_INVALID)',
    produce: () => tlsFailure({ host: '127.0.0.1', port: ports.wrongHost!, ...trusting() }),
    code: 'TLS_HOSTNAME_MISMATCH',
  },
  {
    name: 'undici: the certificate names another host',
    produce: () =>
      failure(() =>
        request(`${url('wrongHost', 'https')}/health`, { dispatcher: new Agent({ connect: trusting() }) }),
      ),
    code: 'TLS_HOSTNAME_MISMATCH',
  },
  {
    name: 'tls: signed by a CA not in --cacert (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    produce: () => tlsFailure({ host: '127.0.0.1', port: ports.untrusted!, ...trusting() }),
    code: 'TLS_CERT_UNTRUSTED',
  },
  {
    name: 'tls: a self-signed CA certificate presented as the server certificate (no --cacert)',
    produce: () => tlsFailure({ host: '127.0.0.1', port: ports.untrusted! }),
    code: 'TLS_CERT_UNTRUSTED',
  },
  {
    name: 'tls 1.3: the member requires a client certificate and none was sent (certificate_required alert)',
    produce: () => tlsFailure({ host: '127.0.0.1', port: ports.clientCert!, ...trusting() }),
    code: 'TLS_BAD_CERTIFICATE',
  },
  {
    name: 'node:http2: the member requires a client certificate and none was sent',
    produce: () => h2Failure(url('clientCert', 'https'), trusting()),
    code: 'TLS_BAD_CERTIFICATE',
  },
  {
    // OpenSSL answers a missing certificate in TLS 1.2 with handshake_failure (40), which also means "no
    // common cipher suite": ambiguous, so TLS_OTHER (Go's server, i.e. etcd, sends bad_certificate).
    name: 'tls 1.2: no client certificate sent to a member that requires one (handshake_failure alert)',
    produce: () => tlsFailure({ host: '127.0.0.1', port: ports.clientCert12!, ...trusting() }),
    code: 'TLS_OTHER',
  },
  {
    // undici reports the TLS 1.3 certificate_required alert only as "other side closed": the error
    // alone says reset. MemberHttpClient then asks once more (see test/etcd/http-client.test.ts).
    name: 'undici alone: the member requires a client certificate and none was sent',
    produce: () =>
      failure(() =>
        request(`${url('clientCert', 'https')}/metrics`, { dispatcher: new Agent({ connect: trusting() }) }),
      ),
    code: 'CONNECTION_RESET',
  },
  {
    name: 'tls: https:// to a port that does not speak TLS (ERR_SSL_WRONG_VERSION_NUMBER)',
    produce: () => tlsFailure({ host: '127.0.0.1', port: ports.garbage!, ...trusting() }),
    code: 'TLS_OTHER',
  },
  {
    name: 'undici: no response headers within headersTimeout (UND_ERR_HEADERS_TIMEOUT)',
    produce: () =>
      failure(() => request(`${url('silent')}/metrics`, { dispatcher: new Agent({ headersTimeout: 200 }) })),
    code: 'REQUEST_TIMEOUT',
  },
  {
    name: 'undici: the AbortSignal.timeout deadline passed (DOMException TimeoutError)',
    produce: () => failure(() => request(`${url('silent')}/metrics`, { signal: AbortSignal.timeout(200) })),
    code: 'REQUEST_TIMEOUT',
  },
  {
    name: 'undici: the TLS handshake never completes within connect.timeout (UND_ERR_CONNECT_TIMEOUT)',
    produce: () =>
      failure(() =>
        request(`${url('silent', 'https')}/metrics`, {
          dispatcher: new Agent({ connect: { timeout: 200 } }),
        }),
      ),
    code: 'CONNECT_TIMEOUT',
  },
  {
    name: 'undici: the connection is reset (ECONNRESET)',
    produce: () => failure(() => request(`${url('reset')}/metrics`)),
    code: 'CONNECTION_RESET',
  },
  {
    name: 'undici: the member closes the connection before answering (UND_ERR_SOCKET)',
    produce: () => failure(() => request(`${url('hangup')}/metrics`)),
    code: 'CONNECTION_RESET',
  },
  {
    name: 'undici: the answer is not HTTP (llhttp HPE_*)',
    produce: () => failure(() => request(`${url('garbage')}/metrics`)),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'node:http2: the peer does not speak HTTP/2 (session error)',
    produce: () => h2Failure(url('garbage')),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'node:http2: the member resets the stream with PROTOCOL_ERROR (ERR_HTTP2_STREAM_ERROR)',
    produce: () => h2Failure(url('rstStream')),
    code: 'PROTOCOL_ERROR',
  },
  {
    name: 'grpc-js: UNAVAILABLE',
    produce: () => grpcFailure(ports.grpc!, GrpcStatus.UNAVAILABLE),
    code: 'GRPC_UNAVAILABLE',
  },
  {
    name: 'grpc-js: UNAUTHENTICATED (the token is fetched again on this code)',
    produce: () => grpcFailure(ports.grpc!, GrpcStatus.UNAUTHENTICATED),
    code: 'UNAUTHENTICATED',
  },
  {
    name: "grpc-js: the member's own DEADLINE_EXCEEDED",
    produce: () => grpcFailure(ports.grpc!, GrpcStatus.DEADLINE_EXCEEDED),
    code: 'REQUEST_TIMEOUT',
  },
  {
    name: 'grpc-js: PERMISSION_DENIED',
    produce: () => grpcFailure(ports.grpc!, GrpcStatus.PERMISSION_DENIED),
    code: 'GRPC_PERMISSION_DENIED',
  },
  {
    name: 'grpc-js: Authenticate answered INVALID_ARGUMENT (etcd: wrong user or password)',
    produce: () => grpcFailure(ports.grpc!, GrpcStatus.INVALID_ARGUMENT),
    ctx: { authenticating: true },
    code: 'AUTH_FAILED',
  },
  {
    name: 'grpc-js: the deadline passed while the member was silent (grpc-js client-side DEADLINE_EXCEEDED)',
    produce: () =>
      new Promise((resolve, reject) => {
        const client = new Client(`127.0.0.1:${ports.silent}`, credentials.createInsecure());
        client.makeUnaryRequest(
          '/etcdserverpb.Maintenance/Status',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.alloc(0),
          new Metadata(),
          { deadline: Date.now() + 300 },
          (err) => {
            client.close();
            if (err) resolve(err);
            else reject(new Error('call succeeded'));
          },
        );
      }),
    code: 'REQUEST_TIMEOUT',
  },
];

describe('classifyTransportError on real errors', () => {
  it.each(cases)('$name -> $code', async (c) => {
    const err = await c.produce();
    const endpoint = 'http://127.0.0.1:2379';
    const classified = classifyTransportError(err, { endpoint, what: 'status', ...c.ctx });
    expect(classified.code, `raw error: ${String((err as { code?: unknown }).code)}`).toBe(c.code);
    expect(classified).toBeInstanceOf(c.instance ?? MemberRequestError);
    expect(classified.endpoint).toBe(endpoint);
    expect(classified.cause).toBe(err);
    expect(Object.keys(TRANSPORT_ERROR_CODES)).toContain(classified.code);
    // Classifying again (a caller further up) changes nothing.
    expect(classifyTransportError(classified, { endpoint, what: 'status' })).toBe(classified);
  });

  it('a classified error wrapped by a caller keeps its code (the chain is walked, outermost specific first)', async () => {
    const refused = classifyTransportError(await cases[0]!.produce(), { endpoint: 'http://127.0.0.1:2379' });
    const wrapped = new Error('round failed', { cause: refused });
    expect(classifyTransportError(wrapped, { endpoint: refused.endpoint }).code).toBe('CONNECTION_REFUSED');
  });

  it('an error with no code at all is UNKNOWN, never a guess from its message', () => {
    const classified = classifyTransportError(new Error('certificate has expired; ECONNREFUSED; timeout'), {
      endpoint: 'http://127.0.0.1:2379',
    });
    expect(classified.code).toBe('UNKNOWN');
  });

  it('the cause chain is bounded: a cyclic chain does not hang', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyTransportError(a, { endpoint: 'http://127.0.0.1:2379' }).code).toBe('UNKNOWN');
  });
});
