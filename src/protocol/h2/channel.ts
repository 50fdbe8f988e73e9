import type { MemberRequestError } from '../../util/errors.js';
import { H2Call, type BodyWriter, type UnaryCallback } from './call.js';
import { GrpcH2Connection, type H2ConnectOptions } from './connection.js';
import type { H2Target } from './dial.js';
import { grpcStatusOf } from './errors.js';

/** After a failed dial, calls fail at once with its error for this long instead of redialling per call. */
const REDIAL_BACKOFF_MS = 1000;
/** Calls waiting for a connection; beyond this they fail at once (closed-loop load never gets near). */
const MAX_WAITING = 100_000;

/**
 * One endpoint's HTTP/2 connection that comes back: dialled on first use and again after it died
 * (protocol error, GOAWAY, no PING ACK, closed). Calls the server did not process (above GOAWAY's
 * last-stream-id, REFUSED_STREAM) are sent once more on the next connection.
 */
export class H2Channel {
  private conn: GrpcH2Connection | undefined;
  private dialing = false;
  private lastDialError: { err: MemberRequestError; at: number } | undefined;
  private readonly paths: string[] = [];
  private readonly waiting: H2Call[] = [];
  private closed = false;
  /** Connections opened so far (1 = never redialled). */
  dials = 0;

  constructor(
    private readonly target: H2Target,
    private readonly opts: H2ConnectOptions,
  ) {}

  /** Opens the first connection now (rejects with the dial error). */
  async ready(): Promise<void> {
    if (this.conn && !this.conn.dead) return;
    await this.dial();
  }

  /** The connection in use, if any (tests, diagnostics). */
  get connection(): GrpcH2Connection | undefined {
    return this.conn;
  }

  /** Registers a method path; ids are the same on every connection of this channel. */
  method(path: string): number {
    const at = this.paths.indexOf(path);
    if (at >= 0) return at;
    this.paths.push(path);
    this.conn?.method(path);
    return this.paths.length - 1;
  }

  /** As GrpcH2Connection#unary, on the live connection or the next one. */
  unary(method: number, bodyLen: number, write: BodyWriter, cb: UnaryCallback, wantBody = false): void {
    const conn = this.conn;
    if (conn !== undefined && !conn.dead) {
      conn.unary(method, bodyLen, write, cb, wantBody);
      return;
    }
    const call = new H2Call(method, bodyLen, write, cb, wantBody);
    // The writer may describe another request by the time a connection exists: capture the bytes now.
    call.src = Buffer.allocUnsafe(bodyLen);
    write(call.src, 0);
    this.enqueue(call);
  }

  close(): void {
    this.closed = true;
    this.conn?.close();
    this.conn = undefined;
  }

  private enqueue(call: H2Call): void {
    const conn = this.conn;
    if (conn !== undefined && !conn.dead) {
      conn.submit(call);
      return;
    }
    const recent = this.lastDialError;
    if (this.closed || this.waiting.length >= MAX_WAITING) {
      const err = recent?.err;
      setImmediate(() =>
        call.cb(err ? grpcStatusOf(err) : 14, err?.message ?? 'channel closed', undefined, err),
      );
      return;
    }
    if (recent && Date.now() - recent.at < REDIAL_BACKOFF_MS && !this.dialing) {
      setImmediate(() => call.cb(grpcStatusOf(recent.err), recent.err.message, undefined, recent.err));
      return;
    }
    this.waiting.push(call);
    if (!this.dialing) this.dial().catch(() => undefined);
  }

  private async dial(): Promise<void> {
    this.dialing = true;
    this.dials++;
    try {
      const conn = await GrpcH2Connection.connect(this.target, this.opts);
      for (const p of this.paths) conn.method(p);
      conn.onUnprocessed = (call) => this.enqueue(call);
      this.conn = conn;
      this.lastDialError = undefined;
      this.dialing = false;
      if (this.closed) conn.close();
      for (const call of this.waiting.splice(0)) this.enqueue(call);
    } catch (err) {
      this.dialing = false;
      const e = err as MemberRequestError;
      this.lastDialError = { err: e, at: Date.now() };
      for (const call of this.waiting.splice(0)) call.cb(grpcStatusOf(e), e.message, undefined, e);
      throw err;
    }
  }
}
