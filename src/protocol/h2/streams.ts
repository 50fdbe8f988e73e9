import type net from 'node:net';
import {
  BadResponseError,
  GrpcStatusError,
  MessageTooLargeError,
  RequestTimeoutError,
  type MemberRequestError,
} from '../../util/errors.js';
import { decodeGrpcMessage } from '../grpc/framing.js';
import { GRPC_DEADLINE_EXCEEDED, GRPC_UNKNOWN } from '../grpc/status.js';
import { H2Call, type BodyWriter, type UnaryCallback } from './call.js';
import { H2ConnectionLostError, StreamResetError, grpcStatusOf } from './errors.js';
import {
  FLAG_END_STREAM,
  FLAG_PADDED,
  H2_CANCEL,
  H2_COMPRESSION_ERROR,
  H2_ENHANCE_YOUR_CALM,
  H2_FLOW_CONTROL_ERROR,
  H2_PROTOCOL_ERROR,
  H2_REFUSED_STREAM,
  rstStreamFrame,
  windowUpdateFrame,
} from './frames.js';
import type { RequestHeaders } from './header-blocks.js';
import { HpackDecoder } from './hpack.js';
import { MAX_HEADER_BLOCK } from './reader.js';
import { CONN_WINDOW, PeerSettings, STREAM_WINDOW } from './settings.js';
import { WriteSlab } from './write-slab.js';

const MAX_STREAM_ID = 2 ** 31 - 1;

/**
 * The calls of one HTTP/2 connection: the stream table, the queue of calls waiting for send window or a
 * stream slot, sending, and how a call ends on its stream's frames (DATA, trailers, RST_STREAM) or is
 * replayed when the server never processed it. GrpcH2Connection (connection.ts) adds the socket, the
 * handshake, the connection-level frames, keepalive and the end of the connection.
 */
export abstract class H2Streams {
  protected readonly decoder = new HpackDecoder({ maxListSize: MAX_HEADER_BLOCK });
  protected readonly streams = new Map<number, H2Call>();
  protected readonly queue: H2Call[] = [];
  protected readonly peer = new PeerSettings();
  protected readonly out: WriteSlab;
  protected nextStreamId = 1;
  /** Connection-level send window (RFC 7540 §6.9.1). */
  protected sendWindow = 65_535;
  /** Connection-level bytes received since our last WINDOW_UPDATE. */
  private received = 0;
  /** Set once no new call may start here (GOAWAY received, failure, close); the reason calls fail with. */
  protected error: MemberRequestError | null = null;
  /** Socket given up: nothing more is read or written. */
  protected killed = false;
  /** Set by H2Channel: takes calls the server never processed (GOAWAY, REFUSED_STREAM) for one replay. */
  onUnprocessed: ((call: H2Call) => void) | undefined;

  protected constructor(
    socket: net.Socket,
    readonly endpoint: string,
    protected readonly headers: RequestHeaders,
    private readonly maxMessage: number,
  ) {
    this.out = new WriteSlab(socket, (bytes) =>
      this.kill(H2_ENHANCE_YOUR_CALM, `the server has not read ${bytes} bytes we sent`),
    );
  }

  /** Sends GOAWAY and closes the socket; calls still in flight fail with CONNECTION_RESET. */
  abstract close(): void;
  /** A protocol violation by the server: GOAWAY with `h2Code`, then the connection is dropped. */
  protected abstract kill(h2Code: number, detail: string, cause?: unknown): void;

  /** Registers a gRPC method path (e.g. `/etcdserverpb.KV/Put`) and returns its id for `unary`. */
  method(path: string): number {
    return this.headers.method(path);
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
    if (call.bodyLen + 5 > this.peer.streamSendWindow) {
      // Larger than a whole stream's flow-control window: would need incremental sending, which the
      // load generator never needs (validateBenchOptions keeps its messages far below this).
      this.failLater(
        call,
        new MessageTooLargeError(this.endpoint, this.peer.streamSendWindow - 5, { what: 'request' }),
      );
      return 0;
    }
    if (
      this.queue.length > 0 ||
      this.streams.size >= this.peer.maxConcurrent ||
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
    this.out.write(rstStreamFrame(id, H2_CANCEL));
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

  private send(call: H2Call): number {
    if (this.nextStreamId >= MAX_STREAM_ID) {
      // RFC 7540 §5.1.1: stream ids cannot be reused; a fresh connection is needed.
      this.error = new H2ConnectionLostError(this.endpoint, { detail: 'stream ids exhausted' });
      this.unprocessed(call, true);
      if (this.streams.size === 0) this.close();
      return 0;
    }
    const block = this.headers.blockFor(call.method);
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.out.writeCall(id, block, call, this.peer.maxFrameSize);
    this.sendWindow -= 5 + call.bodyLen;
    call.id = id;
    this.streams.set(id, call);
    return id;
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

  /** DATA: flow control (RFC 7540 §6.9) and the response message's size and bytes. */
  protected data(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (!this.ownStream(id)) return;
    const len = end - start;
    this.received += len;
    if (this.received > CONN_WINDOW) return this.kill(H2_FLOW_CONTROL_ERROR, 'connection window overrun');
    if (this.received > 1 << 30) {
      this.out.write(windowUpdateFrame(0, this.received));
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
      this.out.write(rstStreamFrame(id, H2_CANCEL));
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
      this.out.write(windowUpdateFrame(id, call.received - call.returned));
      call.returned = call.received;
    }
  }

  /** FrameSink: a complete header block; with END_STREAM, the trailers that end the call. */
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

  protected rstStream(id: number, code: number): void {
    if (!this.ownStream(id)) return;
    const call = this.streams.get(id);
    if (call === undefined) return;
    this.streams.delete(id);
    // RFC 7540 §8.1.4: REFUSED_STREAM means the server did nothing with it, so it is safe to send again.
    if (code === H2_REFUSED_STREAM) this.unprocessed(call, false);
    else this.fail(call, new StreamResetError(this.endpoint, code));
    this.drainQueue();
  }

  /** A call the server never processed: replayed once (here or on the channel's next connection). */
  protected unprocessed(call: H2Call, elsewhere: boolean): void {
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

  protected drainQueue(): void {
    while (this.queue.length > 0 && this.error === null) {
      const q = this.queue[0]!;
      if (q.bodyLen + 5 > this.sendWindow || this.streams.size >= this.peer.maxConcurrent) return;
      this.queue.shift();
      this.send(q);
    }
    // After GOAWAY (or stream ids exhausted) the connection only finishes what it has, then goes.
    if (this.error !== null && !this.killed && this.streams.size === 0) this.close();
  }

  protected fail(call: H2Call, err: MemberRequestError): void {
    call.cb(grpcStatusOf(err), err.message, undefined, err);
  }

  protected failLater(call: H2Call, err: MemberRequestError): void {
    setImmediate(() => this.fail(call, err));
  }
}
