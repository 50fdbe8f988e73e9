import net from 'node:net';
import tls from 'node:tls';
import { encodeInteger } from '../../src/protocol/h2/hpack.js';

// An in-process HTTP/2 "server" on a raw socket, for protocol tests in the style of undici's
// test/http2-*.js: it speaks just enough HTTP/2 to look like etcd's gRPC endpoint (SETTINGS, unary
// responses with grpc-status trailers) and lets a test script every hostile thing a broken proxy or
// member could send. Loopback only. Frame layout: RFC 7540 §4.1; types §6.

export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

/** One frame, with any length the test likes (`len` overrides the payload's real length). */
export function frame(
  type: number,
  flags: number,
  id: number,
  payload: Buffer = Buffer.alloc(0),
  len?: number,
): Buffer {
  const h = Buffer.alloc(9);
  const l = len ?? payload.length;
  h[0] = (l >>> 16) & 0xff;
  h[1] = (l >>> 8) & 0xff;
  h[2] = l & 0xff;
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id >>> 0, 5);
  return Buffer.concat([h, payload]);
}

export function settings(pairs: ReadonlyArray<readonly [number, number]> = []): Buffer {
  const p = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([k, v], i) => {
    p.writeUInt16BE(k, 6 * i);
    p.writeUInt32BE(v >>> 0, 6 * i + 2);
  });
  return frame(T.SETTINGS, 0, 0, p);
}

export function goaway(last: number, code: number, debug = ''): Buffer {
  const p = Buffer.alloc(8 + Buffer.byteLength(debug));
  p.writeUInt32BE(last, 0);
  p.writeUInt32BE(code, 4);
  p.write(debug, 8, 'latin1');
  return frame(T.GOAWAY, 0, 0, p);
}

export function rst(id: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code, 0);
  return frame(T.RST_STREAM, 0, id, p);
}

/** HPACK literal without indexing, literal name (RFC 7541 §6.2.2): no table state to keep in sync. */
export function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([
    Buffer.from([0]),
    Buffer.from(encodeInteger(n.length, 7, 0)),
    n,
    Buffer.from(encodeInteger(v.length, 7, 0)),
    v,
  ]);
}

/** `:status 200` (static index 8) and the gRPC content type. */
export const RESPONSE_HEADERS = Buffer.concat([
  Buffer.from([0x88]),
  literal('content-type', 'application/grpc'),
]);

export function trailers(status: number, message?: string): Buffer {
  return Buffer.concat([
    literal('grpc-status', String(status)),
    ...(message === undefined ? [] : [literal('grpc-message', encodeURIComponent(message))]),
  ]);
}

/** A gRPC message frame: compressed flag 0, 4-byte length, the bytes. */
export function grpcMessage(body: Buffer): Buffer {
  const p = Buffer.alloc(5 + body.length);
  p.writeUInt32BE(body.length, 1);
  body.copy(p, 5);
  return p;
}

/** A complete, well-formed unary answer on stream `id`. */
export function unaryResponse(id: number, body: Buffer = Buffer.from('ok')): Buffer {
  return Buffer.concat([
    frame(T.HEADERS, 0x4, id, RESPONSE_HEADERS),
    frame(T.DATA, 0, id, grpcMessage(body)),
    frame(T.HEADERS, 0x5, id, trailers(0)),
  ]);
}

/** What the client sent on one connection, parsed. */
export interface ClientFrame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
}

/** One accepted connection: what the client sent so far, and a way to write anything back. */
export class Peer {
  readonly frames: ClientFrame[] = [];
  /** Streams the client opened and the script has not answered (`open.delete(id)` when it does). */
  readonly open = new Set<number>();
  /** Most streams open at once. */
  maxOpen = 0;
  private buf = Buffer.alloc(0);
  private prefaceSeen = false;
  closed = false;
  /** Answer PING (default true); false makes a black hole that still holds the connection. */
  answerPings = true;

  constructor(
    readonly socket: net.Socket,
    private readonly server: HostileServer,
  ) {
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('data', (chunk: Buffer) => this.read(chunk));
  }

  send(...bytes: Buffer[]): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(Buffer.concat(bytes));
  }

  /** Writes with backpressure until done or the client hangs up; returns the bytes written. */
  async flood(next: (i: number) => Buffer | undefined): Promise<number> {
    let written = 0;
    for (let i = 0; !this.closed && !this.socket.destroyed; i++) {
      const b = next(i);
      if (b === undefined) break;
      written += b.length;
      if (!this.socket.write(b)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.socket.off('drain', done);
            this.socket.off('close', done);
            resolve();
          };
          this.socket.once('drain', done);
          this.socket.once('close', done);
        });
      }
    }
    return written;
  }

  /** The GOAWAY frames the client sent: [last-stream-id, error code]. */
  goaways(): Array<[number, number]> {
    return this.frames
      .filter((f) => f.type === T.GOAWAY && f.payload.length >= 8)
      .map((f) => [f.payload.readUInt32BE(0), f.payload.readUInt32BE(4)]);
  }

  private read(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.prefaceSeen) {
      if (this.buf.length < 24) return;
      this.buf = this.buf.subarray(24);
      this.prefaceSeen = true;
    }
    while (this.buf.length >= 9) {
      const len = (this.buf[0]! << 16) | (this.buf[1]! << 8) | this.buf[2]!;
      if (this.buf.length < 9 + len) return;
      const f: ClientFrame = {
        type: this.buf[3]!,
        flags: this.buf[4]!,
        id: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buf.subarray(9, 9 + len)),
      };
      this.buf = this.buf.subarray(9 + len);
      this.frames.push(f);
      this.server.handle(this, f);
    }
  }
}

export interface HostileServer {
  readonly port: number;
  readonly peers: Peer[];
  /** Sent right after the client's preface arrives; default an empty SETTINGS. */
  greeting: (peer: Peer) => void;
  /** Runs for each complete request; default answers it well. Replaced per test. */
  onRequest: (peer: Peer, id: number) => void;
  handle(peer: Peer, f: ClientFrame): void;
  close(): Promise<void>;
}

export interface HostileServerOptions {
  /** Serve TLS with these PEMs, offering `alpn` (e.g. ['http/1.1'] to refuse h2). */
  readonly tls?: { key: Buffer; cert: Buffer; alpn: string[] };
}

/** Starts the scriptable server on a free loopback port. */
export async function startHostileServer(opts: HostileServerOptions = {}): Promise<HostileServer> {
  const peers: Peer[] = [];
  const sockets = new Set<net.Socket>();
  const state: HostileServer = {
    port: 0,
    peers,
    greeting: (peer) => peer.send(settings()),
    onRequest: (peer, id) => {
      peer.open.delete(id);
      peer.send(unaryResponse(id));
    },
    handle(peer, f) {
      if (f.type === T.SETTINGS && !(f.flags & 1)) {
        if (peer.frames.filter((x) => x.type === T.SETTINGS && !(x.flags & 1)).length === 1)
          state.greeting(peer);
        peer.send(frame(T.SETTINGS, 1, 0));
      } else if (f.type === T.PING && !(f.flags & 1)) {
        if (peer.answerPings) peer.send(frame(T.PING, 1, 0, f.payload));
      } else if (f.type === T.HEADERS) {
        peer.open.add(f.id);
        peer.maxOpen = Math.max(peer.maxOpen, peer.open.size);
        if (f.flags & 1) state.onRequest(peer, f.id);
      } else if (f.type === T.DATA && f.flags & 1) {
        state.onRequest(peer, f.id);
      } else if (f.type === T.RST_STREAM) {
        peer.open.delete(f.id);
      }
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const accept = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    peers.push(new Peer(socket, state));
  };
  const server = opts.tls
    ? tls.createServer({ key: opts.tls.key, cert: opts.tls.cert, ALPNProtocols: opts.tls.alpn }, accept)
    : net.createServer(accept);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (state as { port: number }).port = (server.address() as net.AddressInfo).port;
  return state;
}
