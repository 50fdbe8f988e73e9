import type net from 'node:net';
import { classifyTransportError } from '../../util/classify-transport.js';
import { formatAuthority } from '../../util/endpoint.js';
import { ConnectTimeoutError, RequestTimeoutError, type MemberRequestError } from '../../util/errors.js';
import { dialH2Socket, targetEndpoint, type H2Target } from './dial.js';
import { H2ConnectionLostError, H2ProtocolError, KeepaliveTimeoutError } from './errors.js';
import {
  FLAG_ACK,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_PING,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_WINDOW_UPDATE,
  H2_CANCEL,
  H2_FLOW_CONTROL_ERROR,
  H2_INTERNAL_ERROR,
  H2_NO_ERROR,
  H2_PROTOCOL_ERROR,
  ackFrame,
  goawayFrame,
  h2ErrorName,
  rstStreamFrame,
} from './frames.js';
import { RequestHeaders } from './header-blocks.js';
import { STATIC_SCHEME_HTTP, STATIC_SCHEME_HTTPS } from './hpack.js';
import { FrameReader, type FrameSink } from './reader.js';
import { CONN_WINDOW, clientPreface } from './settings.js';
import { H2Streams } from './streams.js';
import { SweepClock } from './sweep-clock.js';
import type { H2Call } from './call.js';

// Unary gRPC calls framed by hand on one HTTP/2 connection: the load generator's hot path.
// Node's http2 module costs a Duplex stream, several objects and C++ round trips per call, which made
// the client (not etcd) the bottleneck on a 2-core machine. Here a call is one memcpy of a pre-built
// frame pair into a write slab (write-slab.ts), one small object and a few bytes of HPACK decoding per
// response; all calls issued in one event-loop turn leave in a single socket write.
// Every frame is checked (frames.ts checkFrameHeader) before it is buffered or acted on; anything the
// server does wrong ends this connection with GOAWAY and a typed error to every call on it, and nothing
// is ever thrown out of the socket's 'data' handler.
// The calls themselves (stream table, queue, DATA, trailers, RST_STREAM) are streams.ts; this file is
// the connection: socket, handshake, connection-level frames, the once-a-second sweep and the end.

export interface H2ConnectOptions {
  /** Dial plus HTTP/2 handshake. */
  readonly timeoutMs: number;
  /** Per-call deadline, enforced by a once-a-second sweep (so up to 1 s late). */
  readonly callTimeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Largest response message accepted per call; default 4 MiB (grpc-go's default receive limit). */
  readonly maxMessageBytes?: number;
  /** PING after this long without a frame from the server; default 10 s. */
  readonly keepaliveIdleMs?: number;
  /** No PING ACK within this long drops the connection; default `callTimeoutMs`. */
  readonly keepaliveTimeoutMs?: number;
}

/** One HTTP/2 connection speaking unary gRPC; see H2Channel for redialling and replays. */
export class GrpcH2Connection extends H2Streams implements FrameSink {
  private readonly reader = new FrameReader(this);
  private ready = false;
  private handshake: { resolve: () => void; reject: (err: MemberRequestError) => void } | null = null;
  private readonly clock: SweepClock;
  private readonly sweepTimer: NodeJS.Timeout;

  private constructor(
    private readonly socket: net.Socket,
    target: H2Target,
    timeoutSeconds: number,
    extraHeaders: Readonly<Record<string, string>>,
    opts: H2ConnectOptions,
  ) {
    super(
      socket,
      targetEndpoint(target),
      new RequestHeaders(
        target.tls ? STATIC_SCHEME_HTTPS : STATIC_SCHEME_HTTP,
        formatAuthority(target.host, target.port),
        extraHeaders,
      ),
      opts.maxMessageBytes ?? 4 * 1024 * 1024,
    );
    this.clock = new SweepClock(
      timeoutSeconds,
      opts.keepaliveIdleMs ?? 10_000,
      opts.keepaliveTimeoutMs ?? opts.callTimeoutMs,
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.die(classifyTransportError(err, { endpoint: this.endpoint })));
    socket.on('close', () =>
      this.die(new H2ConnectionLostError(this.endpoint, { detail: 'connection closed' })),
    );
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
  }

  /** Connects (TLS with ALPN h2 when `target.tls` is set) and completes the HTTP/2 handshake. */
  static async connect(target: H2Target, opts: H2ConnectOptions): Promise<GrpcH2Connection> {
    const deadline = Date.now() + opts.timeoutMs;
    const socket = await dialH2Socket(target, opts.timeoutMs);
    const { conn, ready } = GrpcH2Connection.attach(socket, target, opts, Math.max(1, deadline - Date.now()));
    await ready;
    return conn;
  }

  /**
   * Starts HTTP/2 on an already connected socket (or any Duplex with setNoDelay: the fuzz test feeds
   * bytes in memory). Calls may start at once; `ready` settles with the server's SETTINGS.
   */
  static attach(
    socket: net.Socket,
    target: H2Target,
    opts: H2ConnectOptions,
    handshakeMs = opts.timeoutMs,
  ): { conn: GrpcH2Connection; ready: Promise<void> } {
    const conn = new GrpcH2Connection(
      socket,
      target,
      Math.max(1, Math.ceil(opts.callTimeoutMs / 1000)),
      opts.headers ?? {},
      opts,
    );
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => conn.die(new ConnectTimeoutError(conn.endpoint, opts.timeoutMs, { what: 'HTTP/2 handshake' })),
        handshakeMs,
      );
      timer.unref();
      conn.handshake = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
    // A caller that never awaits `ready` must not see an unhandled rejection.
    ready.catch(() => undefined);
    conn.out.write(clientPreface());
    conn.out.flush();
    return { conn, ready };
  }

  /** Sends GOAWAY and closes the socket; calls still in flight fail with CONNECTION_RESET. */
  close(): void {
    this.die(new H2ConnectionLostError(this.endpoint, { detail: 'closed by the client' }), H2_NO_ERROR);
  }

  private onData(chunk: Buffer): void {
    if (this.killed) return;
    this.clock.sawRead();
    try {
      this.reader.push(chunk);
    } catch (err) {
      // Nothing leaves the socket's 'data' handler: a decoder bug (or a throwing callback) ends this
      // connection only.
      this.kill(H2_INTERNAL_ERROR, `client error while reading: ${(err as Error).message}`, err);
    }
  }

  /** FrameSink: everything but header blocks, already checked by FrameReader. */
  frame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    switch (type) {
      case FRAME_DATA:
        return this.data(flags, id, buf, start, end);
      case FRAME_RST_STREAM:
        return this.rstStream(id, buf.readUInt32BE(start));
      case FRAME_SETTINGS:
        if (flags & FLAG_ACK) return;
        return this.settings(buf, start, end);
      case FRAME_PING:
        if (!(flags & FLAG_ACK)) this.out.write(ackFrame(FRAME_PING, buf.subarray(start, end)));
        else this.clock.pingAcked(buf.readUInt32BE(start + 4));
        return;
      case FRAME_GOAWAY:
        return this.goaway(
          buf.readUInt32BE(start) & 0x7fffffff,
          buf.readUInt32BE(start + 4),
          buf,
          start + 8,
          end,
        );
      case FRAME_WINDOW_UPDATE: {
        const inc = buf.readUInt32BE(start) & 0x7fffffff;
        if (id !== 0) return; // whole messages fit the stream window at send time (submit)
        if (inc === 0) return this.kill(H2_PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
        this.sendWindow += inc;
        if (this.sendWindow > CONN_WINDOW)
          return this.kill(H2_FLOW_CONTROL_ERROR, 'connection send window above 2^31-1');
        this.drainQueue();
        return;
      }
      default:
        return; // PRIORITY and unknown frame types are ignored (RFC 7540 §4.1, §5.3)
    }
  }

  private settings(buf: Buffer, start: number, end: number): void {
    const fault = this.peer.apply(buf, start, end, this.headers);
    if (fault !== undefined) return this.kill(fault.h2Code, fault.detail);
    this.out.write(ackFrame(FRAME_SETTINGS, null));
    if (!this.ready) {
      this.ready = true;
      this.handshake?.resolve();
      this.handshake = null;
    }
    this.drainQueue();
  }

  private goaway(last: number, code: number, buf: Buffer, start: number, end: number): void {
    const debug = buf
      .toString('latin1', start, Math.min(end, start + 200))
      .replace(/[^\x20-\x7e]/g, '?')
      .trim();
    const detail = `server sent GOAWAY ${h2ErrorName(code)}${debug ? ` (${debug})` : ''}`;
    this.error ??= new H2ConnectionLostError(this.endpoint, { detail });
    // RFC 7540 §6.8: streams above last-stream-id were not processed and may be sent again elsewhere.
    for (const [sid, call] of [...this.streams]) {
      if (sid > last) {
        this.streams.delete(sid);
        this.unprocessed(call, true);
      }
    }
    for (const call of this.queue.splice(0)) this.unprocessed(call, true);
    if (this.streams.size === 0) this.close();
  }

  /** Once a second: calls past their deadline get RST_STREAM(CANCEL), and keepalive (SweepClock). */
  private sweep(): void {
    const clock = this.clock;
    if (clock.advance()) return this.die(new KeepaliveTimeoutError(this.endpoint, clock.ackTimeoutMs));
    const limit = clock.overdueBelow(this.nextStreamId);
    let expired = false;
    if (limit > 0) {
      const overdue: H2Call[] = [];
      for (const [sid, call] of this.streams) {
        if (sid >= limit) break; // Map iterates in insertion order, i.e. ascending stream id
        overdue.push(call);
      }
      if (overdue.length > 0) {
        expired = true;
        const err = new RequestTimeoutError(this.endpoint, clock.timeoutSeconds * 1000);
        for (const call of overdue) {
          this.out.write(rstStreamFrame(call.id, H2_CANCEL));
          this.streams.delete(call.id);
          this.fail(call, err);
        }
        this.drainQueue();
      }
    }
    const ping = clock.pingDue(expired);
    if (ping !== null) this.out.write(ping);
  }

  /** FrameSink: reading stops once the connection is given up. */
  get stopped(): boolean {
    return this.killed;
  }

  /** FrameSink: a protocol violation found while reading. */
  fault(h2Code: number, detail: string): void {
    this.kill(h2Code, detail);
  }

  /** A protocol violation by the server: GOAWAY with `h2Code`, then the connection is dropped. */
  protected kill(h2Code: number, detail: string, cause?: unknown): void {
    this.die(new H2ProtocolError(this.endpoint, h2Code, detail, { cause }), h2Code);
  }

  private die(err: MemberRequestError, goawayCode?: number): void {
    if (this.killed) return;
    if (goawayCode !== undefined && !this.socket.destroyed) {
      this.out.write(goawayFrame(0, goawayCode));
      this.out.flush();
    }
    this.killed = true;
    this.out.stop();
    this.error ??= err;
    clearInterval(this.sweepTimer);
    this.reader.clear();
    if (goawayCode !== undefined && !this.socket.destroyed) {
      this.socket.end();
      // end() lets the GOAWAY out; a peer that never closes its side is cut off shortly after.
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else this.socket.destroy();
    const calls = [...this.streams.values()];
    this.streams.clear();
    for (const call of calls) this.fail(call, err);
    for (const call of this.queue.splice(0)) this.unprocessed(call, true);
    if (this.handshake) {
      this.handshake.reject(err);
      this.handshake = null;
    }
  }
}
