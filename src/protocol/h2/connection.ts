import type net from 'node:net';
import { MemberRequestError } from '../../util/errors.js';
import {
  GRPC_CANCELLED,
  GRPC_DEADLINE_EXCEEDED,
  GRPC_INTERNAL,
  GRPC_OK,
  GRPC_UNAVAILABLE,
  GRPC_UNKNOWN,
} from '../grpc/status.js';
import { dialH2Socket, targetEndpoint, type H2Target } from './dial.js';
import {
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_CONTINUATION,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_WINDOW_UPDATE,
  PREFACE,
  ackFrame as ack,
  windowUpdateFrame as windowUpdate,
  writeFrameHeader as header,
} from './frames.js';
import {
  HpackDecoder,
  HpackEncoderTable,
  STATIC_METHOD_POST,
  STATIC_SCHEME_HTTP,
  STATIC_SCHEME_HTTPS,
} from './hpack.js';

export type { H2Target } from './dial.js';

// Unary gRPC calls framed by hand on one HTTP/2 connection: the load generator's hot path.
// Node's http2 module costs a Duplex stream, several objects and C++ round trips per call, which made
// the client (not etcd) the bottleneck on a 2-core machine. Here a call is one memcpy of a pre-built
// frame pair into a write slab, one Map entry and a few bytes of HPACK decoding per response; all
// calls issued in one event-loop turn leave in a single socket write.

/**
 * Completion of one call: status 0 on success, else a gRPC code and the server's message. `body` (the
 * raw response, gRPC length prefix included) only for calls made with `wantBody`.
 */
export type UnaryCallback = (status: number, message: string | undefined, body?: Buffer) => void;
/** Writes a call's protobuf body (of the length announced) into `dst` at `offset`. */
export type BodyWriter = (dst: Buffer, offset: number) => void;

const STREAM_WINDOW = 1 << 24;
const CONN_WINDOW = 2 ** 31 - 1;
const SLAB_SIZE = 256 * 1024;
const MAX_STREAM_ID = 2 ** 31 - 1;

interface Queued {
  method: number;
  bodyLen: number;
  write: BodyWriter;
  cb: UnaryCallback;
  wantBody: boolean;
}

/** One HTTP/2 connection speaking unary gRPC; calls fail fast and are never retried. */
export class GrpcH2Connection {
  private readonly decoder = new HpackDecoder();
  private readonly encoder = new HpackEncoderTable();
  private readonly paths: string[] = [];
  /** Cached header block per method; rebuilt when the encoder table grows. */
  private readonly blocks: Array<Buffer | undefined> = [];
  private readonly streams = new Map<number, UnaryCallback>();
  /** Response DATA of the streams whose caller wants it (the benchmark never does). */
  private readonly bodies = new Map<number, Buffer[]>();
  private readonly queue: Queued[] = [];
  private nextStreamId = 1;
  private sendWindow = 65_535;
  private streamSendWindow = 65_535;
  private maxFrameSize = 16_384;
  private received = 0;
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  private slabStart = 0;
  private slabEnd = 0;
  private flushScheduled = false;
  private pending: Buffer | null = null;
  private continuation: { id: number; endStream: boolean; parts: Buffer[] } | null = null;
  private deadError: string | null = null;
  private readonly sweepMarks: number[] = [];
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly flushBound = (): void => this.flush();

  private constructor(
    private readonly socket: net.Socket,
    private readonly scheme: number,
    private readonly authority: string,
    private readonly timeoutSeconds: number,
    private readonly extraHeaders: Readonly<Record<string, string>>,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.die(err.message));
    socket.on('close', () => this.die('connection closed'));
    // Coarse deadlines without a per-call timestamp: remember the next stream id each second; anything
    // older than `timeoutSeconds` marks is overdue.
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
  }

  /** Connects (TLS with ALPN h2 when `target.tls` is set) and completes the HTTP/2 handshake. */
  static async connect(
    target: H2Target,
    opts: { timeoutMs: number; callTimeoutMs: number; headers?: Readonly<Record<string, string>> },
  ): Promise<GrpcH2Connection> {
    const deadline = Date.now() + opts.timeoutMs;
    const socket = await dialH2Socket(target, opts.timeoutMs);
    const endpoint = targetEndpoint(target);
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.removeListener('close', closed);
        socket.destroy();
        reject(new MemberRequestError('MEMBER_UNREACHABLE', endpoint, err.message, { cause: err }));
      };
      const timer = setTimeout(
        () => fail(new Error(`no HTTP/2 handshake within ${opts.timeoutMs} ms`)),
        Math.max(1, deadline - Date.now()),
      );
      const closed = (): void => fail(new Error('connection closed before the HTTP/2 handshake completed'));
      socket.once('close', closed);
      const conn = new GrpcH2Connection(
        socket,
        target.tls ? STATIC_SCHEME_HTTPS : STATIC_SCHEME_HTTP,
        `${target.host}:${target.port}`,
        Math.max(1, Math.ceil(opts.callTimeoutMs / 1000)),
        opts.headers ?? {},
      );
      conn.onReady = () => {
        clearTimeout(timer);
        socket.removeListener('close', closed);
        resolve(conn);
      };
      conn.start();
    });
  }

  private onReady: (() => void) | null = null;

  /** Registers a gRPC method path (e.g. `/etcdserverpb.KV/Put`) and returns its id for `unary`. */
  method(path: string): number {
    const at = this.paths.indexOf(path);
    if (at >= 0) return at;
    this.paths.push(path);
    return this.paths.length - 1;
  }

  /**
   * Starts one unary call; `cb` runs exactly once, never synchronously. Returns the stream id (for
   * `cancel`), or 0 when the call was queued or failed at once.
   */
  unary(method: number, bodyLen: number, write: BodyWriter, cb: UnaryCallback, wantBody = false): number {
    if (this.deadError !== null) {
      const msg = this.deadError;
      setImmediate(() => cb(GRPC_UNAVAILABLE, msg));
      return 0;
    }
    if (bodyLen + 5 > this.streamSendWindow) {
      // Larger than a whole stream's flow-control window: would need incremental sending, which the
      // benchmark never needs (validateBenchOptions keeps lean-path messages below this).
      setImmediate(() =>
        cb(GRPC_INTERNAL, `message of ${bodyLen} bytes exceeds the stream window ${this.streamSendWindow}`),
      );
      return 0;
    }
    if (this.queue.length > 0 || bodyLen + 5 > this.sendWindow) {
      this.queue.push({ method, bodyLen, write, cb, wantBody });
      return 0;
    }
    return this.send(method, bodyLen, write, cb, wantBody);
  }

  /** Gives up on a call in flight: RST_STREAM(CANCEL) to the server, `status` to the caller. */
  cancel(id: number, status: number, message: string): void {
    if (!this.streams.has(id)) return;
    const rst = Buffer.alloc(13);
    header(rst, 0, 4, FRAME_RST_STREAM, 0, id);
    rst.writeUInt32BE(0x8, 9); // CANCEL
    this.writeRaw(rst);
    this.finish(id, status, message);
  }

  /** True once the connection has failed or been closed; every later call fails at once. */
  get dead(): boolean {
    return this.deadError !== null;
  }

  /** Calls in flight on this connection. */
  get inFlight(): number {
    return this.streams.size + this.queue.length;
  }

  /** Sends GOAWAY and closes the socket; calls still in flight fail with UNAVAILABLE. */
  close(): void {
    if (this.deadError === null) {
      const goaway = Buffer.alloc(17);
      header(goaway, 0, 8, FRAME_GOAWAY, 0, 0);
      goaway.writeUInt32BE(Math.max(0, this.nextStreamId - 2), 9);
      this.writeRaw(goaway);
      this.flush();
    }
    this.die('connection closed by client');
    this.socket.end();
  }

  private start(): void {
    const settings = Buffer.alloc(9 + 18);
    header(settings, 0, 18, FRAME_SETTINGS, 0, 0);
    settings.writeUInt16BE(0x2, 9); // ENABLE_PUSH
    settings.writeUInt32BE(0, 11);
    settings.writeUInt16BE(0x4, 15); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(STREAM_WINDOW, 17);
    settings.writeUInt16BE(0x3, 21); // MAX_CONCURRENT_STREAMS (server-initiated; none wanted)
    settings.writeUInt32BE(0, 23);
    this.writeRaw(Buffer.concat([PREFACE, settings, windowUpdate(0, CONN_WINDOW - 65_535)]));
    this.flush();
  }

  private send(
    method: number,
    bodyLen: number,
    write: BodyWriter,
    cb: UnaryCallback,
    wantBody: boolean,
  ): number {
    if (this.nextStreamId >= MAX_STREAM_ID) {
      this.die('stream ids exhausted; reconnect');
      setImmediate(() => cb(GRPC_UNAVAILABLE, 'stream ids exhausted'));
      return 0;
    }
    const block = this.blocks[method] ?? this.buildBlock(method);
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const total = 9 + block.length + 9 + 5 + bodyLen;
    if (this.slabEnd + total > this.slab.length) this.newSlab(total);
    const buf = this.slab;
    let o = this.slabEnd;
    header(buf, o, block.length, FRAME_HEADERS, FLAG_END_HEADERS, id);
    block.copy(buf, o + 9);
    o += 9 + block.length;
    if (5 + bodyLen <= this.maxFrameSize) {
      header(buf, o, 5 + bodyLen, FRAME_DATA, FLAG_END_STREAM, id);
      buf[o + 9] = 0;
      buf.writeUInt32BE(bodyLen, o + 10);
      write(buf, o + 14);
      this.slabEnd = o + 14 + bodyLen;
    } else {
      this.slabEnd = o;
      this.sendSplit(id, bodyLen, write);
    }
    this.sendWindow -= 5 + bodyLen;
    this.streams.set(id, cb);
    if (wantBody) this.bodies.set(id, []);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
    return id;
  }

  /** A message larger than one frame (rare: big values) goes out as several DATA frames. */
  private sendSplit(id: number, bodyLen: number, write: BodyWriter): void {
    const payload = Buffer.allocUnsafe(5 + bodyLen);
    payload[0] = 0;
    payload.writeUInt32BE(bodyLen, 1);
    write(payload, 5);
    for (let off = 0; off < payload.length; off += this.maxFrameSize) {
      const chunk = payload.subarray(off, Math.min(payload.length, off + this.maxFrameSize));
      const last = off + chunk.length >= payload.length;
      const frame = Buffer.allocUnsafe(9 + chunk.length);
      header(frame, 0, chunk.length, FRAME_DATA, last ? FLAG_END_STREAM : 0, id);
      chunk.copy(frame, 9);
      this.writeRaw(frame);
    }
  }

  private buildBlock(method: number): Buffer {
    const path = this.paths[method] ?? '/';
    const before = this.encoder.entries;
    const block = Buffer.concat([
      Buffer.from([0x80 | STATIC_METHOD_POST, 0x80 | this.scheme]),
      this.encoder.field(':path', path),
      this.encoder.field(':authority', this.authority),
      this.encoder.field('content-type', 'application/grpc'),
      this.encoder.field('te', 'trailers'),
      ...Object.entries(this.extraHeaders).map(([name, value]) => this.encoder.field(name, value)),
    ]);
    if (this.encoder.entries !== before) {
      // A block that inserted entries is single-use (the next call sends indexes), and inserting shifts
      // every dynamic index, so all cached blocks are dropped.
      this.blocks.length = 0;
    } else this.blocks[method] = block;
    return block;
  }

  private writeRaw(bytes: Buffer): void {
    if (this.slabEnd + bytes.length > this.slab.length) this.newSlab(bytes.length);
    bytes.copy(this.slab, this.slabEnd);
    this.slabEnd += bytes.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  private newSlab(min: number): void {
    this.flush();
    // Bytes already handed to the socket may still be referenced, so a full slab is replaced, never reused.
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, min));
    this.slabStart = 0;
    this.slabEnd = 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.slabEnd > this.slabStart && !this.socket.destroyed) {
      this.socket.write(this.slab.subarray(this.slabStart, this.slabEnd));
    }
    this.slabStart = this.slabEnd;
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let off = 0;
    const n = buf.length;
    while (n - off >= 9) {
      const len = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
      if (n - off - 9 < len) break;
      const start = off + 9;
      this.frame(
        buf[off + 3]!,
        buf[off + 4]!,
        buf.readUInt32BE(off + 5) & 0x7fffffff,
        buf,
        start,
        start + len,
      );
      off = start + len;
      if (this.deadError !== null) return;
    }
    if (off < n) this.pending = buf.subarray(off);
  }

  private frame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    switch (type) {
      case FRAME_DATA: {
        this.received += end - start;
        if (this.received > 1 << 30) {
          this.writeRaw(windowUpdate(0, this.received));
          this.received = 0;
        }
        const body = this.bodies.get(id);
        if (body) {
          // Socket chunks are never reused, so keeping a view is safe.
          const padding = flags & FLAG_PADDED ? (buf[start] as number) : 0;
          body.push(buf.subarray(flags & FLAG_PADDED ? start + 1 : start, end - padding));
        }
        if (flags & FLAG_END_STREAM) this.finish(id, GRPC_INTERNAL, 'stream ended without trailers');
        return;
      }
      case FRAME_HEADERS: {
        let s = start;
        let e = end;
        if (flags & FLAG_PADDED) {
          e -= buf[s]!;
          s += 1;
        }
        if (flags & FLAG_PRIORITY) s += 5;
        const endStream = (flags & FLAG_END_STREAM) !== 0;
        if (flags & FLAG_END_HEADERS) this.headers(id, endStream, buf, s, e);
        else this.continuation = { id, endStream, parts: [Buffer.from(buf.subarray(s, e))] };
        return;
      }
      case FRAME_CONTINUATION: {
        const c = this.continuation;
        if (!c || c.id !== id) return this.die('unexpected CONTINUATION frame');
        c.parts.push(Buffer.from(buf.subarray(start, end)));
        if (flags & FLAG_END_HEADERS) {
          this.continuation = null;
          const block = Buffer.concat(c.parts);
          this.headers(id, c.endStream, block, 0, block.length);
        }
        return;
      }
      case FRAME_RST_STREAM: {
        const code = end - start >= 4 ? buf.readUInt32BE(start) : 0;
        // RFC 7540 REFUSED_STREAM means "not processed, safe to retry" — we report it, we do not retry.
        this.finish(
          id,
          code === 0x7 ? GRPC_UNAVAILABLE : code === 0x8 ? GRPC_CANCELLED : GRPC_INTERNAL,
          `RST_STREAM code ${code}`,
        );
        return;
      }
      case FRAME_SETTINGS:
        if (flags & FLAG_ACK) return;
        for (let p = start; p + 6 <= end; p += 6) {
          const key = buf.readUInt16BE(p);
          if (key === 0x4) this.streamSendWindow = buf.readUInt32BE(p + 2);
          else if (key === 0x5) this.maxFrameSize = buf.readUInt32BE(p + 2);
        }
        this.writeRaw(ack(FRAME_SETTINGS, null));
        if (this.onReady) {
          const ready = this.onReady;
          this.onReady = null;
          ready();
        }
        return;
      case FRAME_PING:
        if (!(flags & FLAG_ACK)) this.writeRaw(ack(FRAME_PING, buf.subarray(start, end)));
        return;
      case FRAME_GOAWAY: {
        const last = buf.readUInt32BE(start) & 0x7fffffff;
        const reason = end - start > 8 ? buf.toString('latin1', start + 8, end) : '';
        for (const sid of [...this.streams.keys()]) {
          if (sid > last) this.finish(sid, GRPC_UNAVAILABLE, `GOAWAY ${reason}`.trim());
        }
        this.deadError = `server sent GOAWAY ${reason}`.trim();
        this.failQueued();
        return;
      }
      case FRAME_WINDOW_UPDATE: {
        const inc = buf.readUInt32BE(start) & 0x7fffffff;
        if (id === 0) this.sendWindow += inc;
        this.drainQueue();
        return;
      }
      default:
        return; // PRIORITY, PUSH_PROMISE (disabled) and unknown frame types are ignored per RFC 7540
    }
  }

  private headers(id: number, endStream: boolean, buf: Buffer, start: number, end: number): void {
    try {
      this.decoder.decode(buf, start, end);
    } catch (err) {
      this.die(`HPACK: ${(err as Error).message}`);
      return;
    }
    if (!endStream) return;
    const status = this.decoder.grpcStatus;
    if (status === '0') this.finish(id, GRPC_OK, undefined);
    else if (status === undefined) {
      this.finish(id, GRPC_UNKNOWN, `no grpc-status (HTTP ${this.decoder.httpStatus ?? '?'})`);
    } else {
      const msg = this.decoder.grpcMessage;
      this.finish(id, Number(status) || GRPC_UNKNOWN, msg ? safeDecode(msg) : undefined);
    }
  }

  private finish(id: number, status: number, message: string | undefined): void {
    const cb = this.streams.get(id);
    if (cb === undefined) return;
    this.streams.delete(id);
    const body = this.bodies.get(id);
    if (body === undefined) {
      cb(status, message);
      return;
    }
    this.bodies.delete(id);
    cb(status, message, body.length === 1 ? body[0] : Buffer.concat(body));
  }

  private drainQueue(): void {
    while (this.queue.length > 0 && this.deadError === null) {
      const q = this.queue[0]!;
      if (q.bodyLen + 5 > this.sendWindow) return;
      this.queue.shift();
      this.send(q.method, q.bodyLen, q.write, q.cb, q.wantBody);
    }
  }

  private failQueued(): void {
    const msg = this.deadError ?? 'connection failed';
    for (const q of this.queue.splice(0)) setImmediate(() => q.cb(GRPC_UNAVAILABLE, msg));
  }

  private sweep(): void {
    this.sweepMarks.push(this.nextStreamId);
    if (this.sweepMarks.length <= this.timeoutSeconds) return;
    const limit = this.sweepMarks.shift() ?? 0;
    const overdue: number[] = [];
    for (const sid of this.streams.keys()) {
      if (sid >= limit) break; // Map iterates in insertion order, i.e. ascending stream id
      overdue.push(sid);
    }
    for (const sid of overdue) {
      const rst = Buffer.alloc(13);
      header(rst, 0, 4, FRAME_RST_STREAM, 0, sid);
      rst.writeUInt32BE(0x8, 9); // CANCEL
      this.writeRaw(rst);
      this.finish(sid, GRPC_DEADLINE_EXCEEDED, `no response within ${this.timeoutSeconds} s`);
    }
  }

  private die(reason: string): void {
    if (this.deadError === null) this.deadError = reason;
    clearInterval(this.sweepTimer);
    const ids = [...this.streams.keys()];
    for (const sid of ids) this.finish(sid, GRPC_UNAVAILABLE, reason);
    this.failQueued();
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

// grpc-message is percent-encoded on the wire (gRPC over HTTP/2 spec).
function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
