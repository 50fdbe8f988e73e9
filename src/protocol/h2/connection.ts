import type net from 'node:net';
import { classifyTransportError } from '../../util/classify-transport.js';
import {
  BadResponseError,
  ConnectTimeoutError,
  GrpcStatusError,
  MessageTooLargeError,
  RequestTimeoutError,
  type MemberRequestError,
} from '../../util/errors.js';
import { decodeGrpcMessage } from '../grpc/framing.js';
import { GRPC_DEADLINE_EXCEEDED, GRPC_UNKNOWN } from '../grpc/status.js';
import { dialH2Socket, targetEndpoint, type H2Target } from './dial.js';
import {
  H2ConnectionLostError,
  H2ProtocolError,
  KeepaliveTimeoutError,
  StreamResetError,
  grpcStatusOf,
} from './errors.js';
import {
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_WINDOW_UPDATE,
  H2_CANCEL,
  H2_COMPRESSION_ERROR,
  H2_ENHANCE_YOUR_CALM,
  H2_FLOW_CONTROL_ERROR,
  H2_INTERNAL_ERROR,
  H2_NO_ERROR,
  H2_PROTOCOL_ERROR,
  H2_REFUSED_STREAM,
  PREFACE,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  ackFrame,
  goawayFrame,
  h2ErrorName,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader as header,
} from './frames.js';
import { FrameReader, MAX_HEADER_BLOCK, type FrameSink } from './reader.js';
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
// frame pair into a write slab, one small object and a few bytes of HPACK decoding per response; all
// calls issued in one event-loop turn leave in a single socket write.
// Every frame is checked (frames.ts checkFrameHeader) before it is buffered or acted on; anything the
// server does wrong ends this connection with GOAWAY and a typed error to every call on it, and nothing
// is ever thrown out of the socket's 'data' handler.

/**
 * Completion of one call: status 0 on success, else a gRPC code, a message and the typed error.
 * `body` (the raw response, gRPC length prefix included) only for successful calls made with `wantBody`.
 */
export type UnaryCallback = (
  status: number,
  message: string | undefined,
  body?: Buffer,
  error?: MemberRequestError,
) => void;
/** Writes a call's protobuf body (of the length announced) into `dst` at `offset`. */
export type BodyWriter = (dst: Buffer, offset: number) => void;

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

/** Our SETTINGS_INITIAL_WINDOW_SIZE: 16 MiB per stream (RFC 7540 §6.9.2). */
const STREAM_WINDOW = 1 << 24;
/** The connection window we open right after the preface (RFC 7540 §6.9.1 maximum). */
const CONN_WINDOW = 2 ** 31 - 1;
const SLAB_SIZE = 256 * 1024;
const MAX_STREAM_ID = 2 ** 31 - 1;
/** A server that does not read our writes (PING/SETTINGS ACK floods) is dropped past this backlog. */
const MAX_WRITE_BACKLOG = 64 * 1024 * 1024;

/** One call's state; `src`/`srcOff` keep its body bytes (in a write slab, never reused) for one replay. */
export class H2Call {
  id = 0;
  /** Flow-controlled bytes received (padding included) and how many of them we gave back. */
  received = 0;
  returned = 0;
  bodyBytes = 0;
  src: Buffer | null = null;
  srcOff = 0;
  replays = 0;
  readonly body: Buffer[] | null;

  constructor(
    readonly method: number,
    readonly bodyLen: number,
    readonly write: BodyWriter,
    readonly cb: UnaryCallback,
    wantBody: boolean,
  ) {
    this.body = wantBody ? [] : null;
  }
}

/** One HTTP/2 connection speaking unary gRPC; see H2Channel for redialling and replays. */
export class GrpcH2Connection implements FrameSink {
  readonly endpoint: string;
  private readonly decoder = new HpackDecoder({ maxListSize: MAX_HEADER_BLOCK });
  private readonly encoder = new HpackEncoderTable();
  private readonly paths: string[] = [];
  /** Cached header block per method; rebuilt when the encoder table changes. */
  private readonly blocks: Array<Buffer | undefined> = [];
  private blocksGeneration = 0;
  private readonly streams = new Map<number, H2Call>();
  private readonly queue: H2Call[] = [];
  private readonly maxMessage: number;
  private nextStreamId = 1;
  private sendWindow = 65_535;
  private streamSendWindow = 65_535;
  private maxFrameSize = 16_384;
  private maxConcurrent = Infinity;
  /** Connection-level bytes received since our last WINDOW_UPDATE. */
  private received = 0;
  // Small at first (a connection that makes a few calls needs no 256 KiB); full-size from the first refill.
  private slab = Buffer.allocUnsafe(16 * 1024);
  private slabStart = 0;
  private slabEnd = 0;
  private flushScheduled = false;
  private readonly reader = new FrameReader(this);
  /** Set once no new call may start here (GOAWAY received, failure, close); the reason calls fail with. */
  private error: MemberRequestError | null = null;
  /** Socket given up: nothing more is read or written. */
  private killed = false;
  private ready = false;
  private handshake: { resolve: () => void; reject: (err: MemberRequestError) => void } | null = null;
  private readonly sweepMarks: number[] = [];
  private readonly sweepTimer: NodeJS.Timeout;
  private tick = 0;
  private readSinceTick = false;
  private idleTicks = 0;
  private pingSentTick = -1;
  private readonly idleLimitTicks: number;
  private readonly ackLimitTicks: number;
  private readonly flushBound = (): void => this.flush();
  /** Set by H2Channel: takes calls the server never processed (GOAWAY, REFUSED_STREAM) for one replay. */
  onUnprocessed: ((call: H2Call) => void) | undefined;

  private constructor(
    private readonly socket: net.Socket,
    target: H2Target,
    private readonly timeoutSeconds: number,
    private readonly extraHeaders: Readonly<Record<string, string>>,
    opts: H2ConnectOptions,
  ) {
    this.endpoint = targetEndpoint(target);
    this.scheme = target.tls ? STATIC_SCHEME_HTTPS : STATIC_SCHEME_HTTP;
    this.authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    this.maxMessage = opts.maxMessageBytes ?? 4 * 1024 * 1024;
    this.idleLimitTicks = Math.max(1, Math.ceil((opts.keepaliveIdleMs ?? 10_000) / 1000));
    // +1: the sweep is coarse, a PING sent just before a tick must get a whole period.
    this.ackLimitTicks = Math.max(1, Math.ceil((opts.keepaliveTimeoutMs ?? opts.callTimeoutMs) / 1000)) + 1;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.die(classifyTransportError(err, { endpoint: this.endpoint })));
    socket.on('close', () =>
      this.die(new H2ConnectionLostError(this.endpoint, { detail: 'connection closed' })),
    );
    // Coarse deadlines without a per-call timestamp: remember the next stream id each second; anything
    // older than `timeoutSeconds` marks is overdue. The same tick drives keepalive.
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
    this.sweepTimer.unref();
  }

  private readonly scheme: number;
  private readonly authority: string;

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
    conn.start();
    return { conn, ready };
  }

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
    return this.submit(new H2Call(method, bodyLen, write, cb, wantBody));
  }

  /** Starts (or queues) a call object; also how H2Channel replays one. */
  submit(call: H2Call): number {
    if (this.error !== null) {
      this.failLater(call, this.error);
      return 0;
    }
    if (call.bodyLen + 5 > this.streamSendWindow) {
      // Larger than a whole stream's flow-control window: would need incremental sending, which the
      // load generator never needs (validateBenchOptions keeps its messages far below this).
      this.failLater(
        call,
        new MessageTooLargeError(this.endpoint, this.streamSendWindow - 5, { what: 'request' }),
      );
      return 0;
    }
    if (
      this.queue.length > 0 ||
      this.streams.size >= this.maxConcurrent ||
      call.bodyLen + 5 > this.sendWindow
    ) {
      // The writer may describe a different request by the time the call leaves: capture it now.
      if (call.src === null) {
        call.src = Buffer.allocUnsafe(call.bodyLen);
        call.write(call.src, 0);
      }
      this.queue.push(call);
      return 0;
    }
    return this.send(call);
  }

  /** Gives up on a call in flight: RST_STREAM(CANCEL) to the server, `status` to the caller. */
  cancel(id: number, status: number, message: string): void {
    const call = this.streams.get(id);
    if (call === undefined) return;
    this.writeRaw(rstStreamFrame(id, H2_CANCEL));
    this.streams.delete(id);
    const err =
      status === GRPC_DEADLINE_EXCEEDED
        ? new RequestTimeoutError(this.endpoint, undefined)
        : new GrpcStatusError(status, this.endpoint, message);
    call.cb(status, message, undefined, err);
    this.drainQueue();
  }

  /** True once no new call can start here (failed, closed, or the server sent GOAWAY). */
  get dead(): boolean {
    return this.error !== null;
  }

  /** Why the connection stopped taking calls, when it has. */
  get failure(): MemberRequestError | null {
    return this.error;
  }

  /** Calls in flight on this connection. */
  get inFlight(): number {
    return this.streams.size + this.queue.length;
  }

  /** Sends GOAWAY and closes the socket; calls still in flight fail with CONNECTION_RESET. */
  close(): void {
    this.die(new H2ConnectionLostError(this.endpoint, { detail: 'closed by the client' }), H2_NO_ERROR);
  }

  private start(): void {
    const settings = settingsFrame([
      [SETTINGS_ENABLE_PUSH, 0],
      [SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW],
      [SETTINGS_MAX_CONCURRENT_STREAMS, 0], // server-initiated streams; none wanted
      [SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BLOCK],
    ]);
    this.writeRaw(Buffer.concat([PREFACE, settings, windowUpdateFrame(0, CONN_WINDOW - 65_535)]));
    this.flush();
  }

  private send(call: H2Call): number {
    if (this.nextStreamId >= MAX_STREAM_ID) {
      // RFC 7540 §5.1.1: stream ids cannot be reused; a fresh connection is needed.
      this.error = new H2ConnectionLostError(this.endpoint, { detail: 'stream ids exhausted' });
      this.unprocessed(call, true);
      if (this.streams.size === 0) this.close();
      return 0;
    }
    const block = this.blockFor(call.method);
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const bodyLen = call.bodyLen;
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
      if (call.src === null) {
        call.write(buf, o + 14);
        // Slabs are replaced, never reused, so these bytes stay valid for a replay.
        call.src = buf;
        call.srcOff = o + 14;
      } else call.src.copy(buf, o + 14, call.srcOff, call.srcOff + bodyLen);
      this.slabEnd = o + 14 + bodyLen;
    } else {
      this.slabEnd = o;
      this.sendSplit(id, call);
    }
    this.sendWindow -= 5 + bodyLen;
    call.id = id;
    this.streams.set(id, call);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
    return id;
  }

  /** A message larger than one frame (rare: big values) goes out as several DATA frames. */
  private sendSplit(id: number, call: H2Call): void {
    const payload = Buffer.allocUnsafe(5 + call.bodyLen);
    payload[0] = 0;
    payload.writeUInt32BE(call.bodyLen, 1);
    if (call.src === null) call.write(payload, 5);
    else call.src.copy(payload, 5, call.srcOff, call.srcOff + call.bodyLen);
    call.src = payload;
    call.srcOff = 5;
    for (let off = 0; off < payload.length; off += this.maxFrameSize) {
      const chunk = payload.subarray(off, Math.min(payload.length, off + this.maxFrameSize));
      const last = off + chunk.length >= payload.length;
      const frame = Buffer.allocUnsafe(9 + chunk.length);
      header(frame, 0, chunk.length, FRAME_DATA, last ? FLAG_END_STREAM : 0, id);
      chunk.copy(frame, 9);
      this.writeRaw(frame);
    }
  }

  private blockFor(method: number): Buffer {
    if (this.blocksGeneration !== this.encoder.entries) {
      this.blocks.length = 0;
      this.blocksGeneration = this.encoder.entries;
    }
    return this.blocks[method] ?? this.buildBlock(method);
  }

  private buildBlock(method: number): Buffer {
    const path = this.paths[method] ?? '/';
    const prefix = this.encoder.takePrefix();
    const block = Buffer.concat([
      ...(prefix ? [prefix] : []),
      Buffer.from([0x80 | STATIC_METHOD_POST, 0x80 | this.scheme]),
      this.encoder.field(':path', path),
      this.encoder.field(':authority', this.authority),
      this.encoder.field('content-type', 'application/grpc'),
      this.encoder.field('te', 'trailers'),
      ...Object.entries(this.extraHeaders).map(([name, value]) => this.encoder.field(name, value)),
    ]);
    // A block that inserted entries (or carried a size update) is single-use: the next call sends
    // indexes, and inserting shifts every dynamic index, so all cached blocks are dropped.
    if (this.encoder.entries === this.blocksGeneration && !prefix) this.blocks[method] = block;
    return block;
  }

  private writeRaw(bytes: Buffer): void {
    if (this.killed) return;
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
    // Bytes already handed to the socket (or kept for a replay) may still be referenced, so a full
    // slab is replaced, never reused.
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, min));
    this.slabStart = 0;
    this.slabEnd = 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.slabEnd > this.slabStart && !this.socket.destroyed && !this.killed) {
      this.socket.write(this.slab.subarray(this.slabStart, this.slabEnd));
      if (this.socket.writableLength > MAX_WRITE_BACKLOG) {
        this.slabStart = this.slabEnd;
        this.kill(
          H2_ENHANCE_YOUR_CALM,
          `the server has not read ${this.socket.writableLength} bytes we sent`,
        );
        return;
      }
    }
    this.slabStart = this.slabEnd;
  }

  private onData(chunk: Buffer): void {
    if (this.killed) return;
    this.readSinceTick = true;
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
        if (!(flags & FLAG_ACK)) this.writeRaw(ackFrame(FRAME_PING, buf.subarray(start, end)));
        else if (buf.readUInt32BE(start + 4) === this.pingSentTick) this.pingSentTick = -1;
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

  /**
   * A stream frame's id must be one we opened (odd, below the next id): RFC 7540 §5.1.1 makes frames on
   * idle streams, and any even (server-initiated) stream with push disabled, a connection error.
   */
  private ownStream(id: number): boolean {
    if (id % 2 === 1 && id < this.nextStreamId) return true;
    this.kill(H2_PROTOCOL_ERROR, `frame on stream ${id}, which we never opened`);
    return false;
  }

  private data(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (!this.ownStream(id)) return;
    const len = end - start;
    this.received += len;
    if (this.received > CONN_WINDOW) return this.kill(H2_FLOW_CONTROL_ERROR, 'connection window overrun');
    if (this.received > 1 << 30) {
      this.writeRaw(windowUpdateFrame(0, this.received));
      this.received = 0;
    }
    const call = this.streams.get(id);
    if (call === undefined) return; // a stream we cancelled: counted for the connection, dropped
    call.received += len;
    if (call.received - call.returned > STREAM_WINDOW)
      return this.kill(H2_FLOW_CONTROL_ERROR, `stream ${id} window overrun`);
    const padding = flags & FLAG_PADDED ? buf[start]! + 1 : 0;
    call.bodyBytes += len - padding;
    if (call.bodyBytes > this.maxMessage + 5) {
      this.writeRaw(rstStreamFrame(id, H2_CANCEL));
      this.streams.delete(id);
      this.fail(call, new MessageTooLargeError(this.endpoint, this.maxMessage));
      this.drainQueue();
      return;
    }
    // Socket chunks are never reused, so keeping a view is safe.
    if (call.body !== null)
      call.body.push(buf.subarray(flags & FLAG_PADDED ? start + 1 : start, end - (padding && padding - 1)));
    if (flags & FLAG_END_STREAM) {
      this.streams.delete(id);
      this.fail(call, new BadResponseError(this.endpoint, 'stream ended without gRPC trailers'));
      this.drainQueue();
    } else if (call.received - call.returned > STREAM_WINDOW / 2) {
      // Only reachable with maxMessageBytes above 8 MiB: give the stream its window back.
      this.writeRaw(windowUpdateFrame(id, call.received - call.returned));
      call.returned = call.received;
    }
  }

  /** FrameSink: a complete header block. */
  headerBlock(id: number, endStream: boolean, buf: Buffer, start: number, end: number): void {
    if (!this.ownStream(id)) return;
    try {
      this.decoder.decode(buf, start, end);
    } catch (err) {
      // RFC 7540 §4.3: a header block that cannot be decoded is a COMPRESSION_ERROR.
      return this.kill(H2_COMPRESSION_ERROR, `HPACK: ${(err as Error).message}`, err);
    }
    if (!endStream) return;
    const call = this.streams.get(id);
    if (call === undefined) return;
    this.streams.delete(id);
    const status = this.decoder.grpcStatus;
    if (status === '0') {
      const body = call.body;
      call.cb(0, undefined, body === null ? undefined : body.length === 1 ? body[0] : Buffer.concat(body));
    } else if (status === undefined) {
      this.fail(
        call,
        new BadResponseError(this.endpoint, `no grpc-status (HTTP ${this.decoder.httpStatus ?? '?'})`),
      );
    } else {
      const code = /^\d{1,2}$/.test(status) && Number(status) <= 16 ? Number(status) : GRPC_UNKNOWN;
      const msg = this.decoder.grpcMessage;
      const text = decodeGrpcMessage(msg);
      call.cb(code, text || undefined, undefined, new GrpcStatusError(code, this.endpoint, text));
    }
    if (this.queue.length > 0 || this.error !== null) this.drainQueue();
  }

  private rstStream(id: number, code: number): void {
    if (!this.ownStream(id)) return;
    const call = this.streams.get(id);
    if (call === undefined) return;
    this.streams.delete(id);
    // RFC 7540 §8.1.4: REFUSED_STREAM means the server did nothing with it, so it is safe to send again.
    if (code === H2_REFUSED_STREAM) this.unprocessed(call, false);
    else this.fail(call, new StreamResetError(this.endpoint, code));
    this.drainQueue();
  }

  private settings(buf: Buffer, start: number, end: number): void {
    for (let p = start; p + 6 <= end; p += 6) {
      const key = buf.readUInt16BE(p);
      const value = buf.readUInt32BE(p + 2);
      // RFC 7540 §6.5.2 value ranges.
      if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > CONN_WINDOW) return this.kill(H2_FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value}`);
        this.streamSendWindow = value;
      } else if (key === SETTINGS_MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215)
          return this.kill(H2_PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} outside 16384..16777215`);
        this.maxFrameSize = value;
      } else if (key === SETTINGS_MAX_CONCURRENT_STREAMS) {
        this.maxConcurrent = value;
      } else if (key === SETTINGS_ENABLE_PUSH) {
        if (value > 1) return this.kill(H2_PROTOCOL_ERROR, `ENABLE_PUSH ${value}`);
      } else if (key === SETTINGS_HEADER_TABLE_SIZE && value < 4096) {
        this.encoder.shrink();
      }
    }
    this.writeRaw(ackFrame(FRAME_SETTINGS, null));
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

  /** A call the server never processed: replayed once (here or on the channel's next connection). */
  private unprocessed(call: H2Call, elsewhere: boolean): void {
    if (call.replays >= 1 || (elsewhere && this.onUnprocessed === undefined)) {
      this.failLater(call, this.error ?? new StreamResetError(this.endpoint, H2_REFUSED_STREAM));
      return;
    }
    call.replays++;
    call.id = 0;
    if (!elsewhere && this.error === null) this.submit(call);
    else if (this.onUnprocessed) this.onUnprocessed(call);
    else this.failLater(call, this.error ?? new StreamResetError(this.endpoint, H2_REFUSED_STREAM));
  }

  private drainQueue(): void {
    while (this.queue.length > 0 && this.error === null) {
      const q = this.queue[0]!;
      if (q.bodyLen + 5 > this.sendWindow || this.streams.size >= this.maxConcurrent) return;
      this.queue.shift();
      this.send(q);
    }
    // After GOAWAY (or stream ids exhausted) the connection only finishes what it has, then goes.
    if (this.error !== null && !this.killed && this.streams.size === 0) this.close();
  }

  private sweep(): void {
    this.tick++;
    if (this.pingSentTick >= 0 && this.tick - this.pingSentTick >= this.ackLimitTicks) {
      return this.die(new KeepaliveTimeoutError(this.endpoint, (this.ackLimitTicks - 1) * 1000));
    }
    this.idleTicks = this.readSinceTick ? 0 : this.idleTicks + 1;
    this.readSinceTick = false;
    this.sweepMarks.push(this.nextStreamId);
    let expired = false;
    if (this.sweepMarks.length > this.timeoutSeconds) {
      const limit = this.sweepMarks.shift() ?? 0;
      const overdue: H2Call[] = [];
      for (const [sid, call] of this.streams) {
        if (sid >= limit) break; // Map iterates in insertion order, i.e. ascending stream id
        overdue.push(call);
      }
      if (overdue.length > 0) {
        expired = true;
        const err = new RequestTimeoutError(this.endpoint, this.timeoutSeconds * 1000);
        for (const call of overdue) {
          this.writeRaw(rstStreamFrame(call.id, H2_CANCEL));
          this.streams.delete(call.id);
          this.fail(call, err);
        }
        this.drainQueue();
      }
    }
    // A missed deadline or a quiet connection: is the server still there? (black hole detection)
    if (this.pingSentTick < 0 && (expired || this.idleTicks >= this.idleLimitTicks)) {
      this.idleTicks = 0;
      this.pingSentTick = this.tick;
      const ping = Buffer.alloc(17);
      header(ping, 0, 8, FRAME_PING, 0, 0);
      ping.writeUInt32BE(this.tick, 13);
      this.writeRaw(ping);
    }
  }

  private fail(call: H2Call, err: MemberRequestError): void {
    call.cb(grpcStatusOf(err), err.message, undefined, err);
  }

  private failLater(call: H2Call, err: MemberRequestError): void {
    setImmediate(() => this.fail(call, err));
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
  private kill(h2Code: number, detail: string, cause?: unknown): void {
    this.die(new H2ProtocolError(this.endpoint, h2Code, detail, { cause }), h2Code);
  }

  private die(err: MemberRequestError, goawayCode?: number): void {
    if (this.killed) return;
    if (goawayCode !== undefined && !this.socket.destroyed) {
      this.writeRaw(goawayFrame(0, goawayCode));
      this.flush();
    }
    this.killed = true;
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
