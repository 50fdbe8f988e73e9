import { classifyTransportError } from '../util/classify-transport.js';
import { MemberRequestError } from '../util/errors.js';
import { GRPC_DEADLINE_EXCEEDED, GRPC_UNAVAILABLE } from '../protocol/grpc/status.js';
import { GrpcH2Connection } from '../protocol/h2/connection.js';
import type { TlsMaterial } from './tls-material.js';

/** A call that reached the member and came back with a non-OK gRPC status. */
export class GrpcStatusError extends Error {
  constructor(
    readonly grpcCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Unary gRPC calls to one member over the hand-framed HTTP/2 connection the benchmark also uses. The
 * collectors make ≈90 such calls per round for 30 members; through etcd3/grpc-js each cost ≈0.55 ms
 * of CPU, through Node's http2 module ≈0.25 ms, here ≈0.1 ms with decoding (measured side by side). One
 * connection, opened on first use and again after it breaks; no retries, no load balancing: an
 * answer is always this member's own.
 */
export class GrpcUnaryClient {
  private conn: GrpcH2Connection | undefined;
  private connToken: string | undefined;
  private connecting: Promise<GrpcH2Connection> | undefined;
  private readonly target: { host: string; port: number; tls?: TlsMaterial };

  constructor(
    readonly endpoint: string,
    tls: TlsMaterial | undefined,
    private readonly dialTimeoutMs: number,
  ) {
    const url = new URL(endpoint);
    const secure = url.protocol === 'https:';
    this.target = {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(url.port || (secure ? 443 : 80)),
      ...(secure ? { tls: { ...(tls ?? {}) } } : {}),
    };
  }

  /**
   * Sends one request message to `path` (e.g. `/etcdserverpb.Maintenance/Status`) and returns the
   * response message. Rejects with MemberRequestError (timeout, TLS, unreachable) or GrpcStatusError.
   */
  async call(
    path: string,
    request: Uint8Array,
    opts: { readonly timeoutMs: number; readonly token?: string },
  ): Promise<Buffer> {
    const deadline = Date.now() + opts.timeoutMs;
    const conn = await this.connect(opts.token, opts.timeoutMs);
    const remaining = Math.max(1, deadline - Date.now());
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const id = conn.unary(
        conn.method(path),
        request.length,
        (dst, offset) => dst.set(request, offset),
        (status, message, body) => {
          clearTimeout(timer);
          if (status === GRPC_DEADLINE_EXCEEDED && message === TIMED_OUT) {
            reject(
              new MemberRequestError(
                'MEMBER_TIMEOUT',
                this.endpoint,
                `${path}: no answer within ${opts.timeoutMs} ms`,
              ),
            );
          } else if (status === GRPC_UNAVAILABLE && conn.dead) {
            this.drop(conn);
            reject(
              new MemberRequestError(
                'MEMBER_UNREACHABLE',
                this.endpoint,
                `${path}: ${message ?? 'connection lost'}`,
              ),
            );
          } else if (status !== 0) {
            reject(new GrpcStatusError(status, message ?? `gRPC status ${status}`));
          } else {
            try {
              resolve(firstMessage(body ?? Buffer.alloc(0)));
            } catch (err) {
              reject(
                new MemberRequestError(
                  'MEMBER_BAD_RESPONSE',
                  this.endpoint,
                  `${path}: ${(err as Error).message}`,
                ),
              );
            }
          }
        },
        true,
      );
      if (id > 0) timer = setTimeout(() => conn.cancel(id, GRPC_DEADLINE_EXCEEDED, TIMED_OUT), remaining);
    });
  }

  /** Closes the connection; later calls open a new one. */
  close(): void {
    const conn = this.conn;
    this.conn = undefined;
    conn?.close();
  }

  private connect(token: string | undefined, timeoutMs: number): Promise<GrpcH2Connection> {
    const conn = this.conn;
    if (conn && !conn.dead && this.connToken === token) return Promise.resolve(conn);
    // A new token means a new connection: the token travels in every call's (cached) header block.
    if (conn) this.drop(conn);
    this.connecting ??= GrpcH2Connection.connect(this.target, {
      timeoutMs: Math.min(timeoutMs, this.dialTimeoutMs),
      callTimeoutMs: timeoutMs,
      ...(token ? { headers: { token } } : {}),
    })
      .then(
        (fresh) => {
          this.conn = fresh;
          this.connToken = token;
          return fresh;
        },
        (err: unknown) => {
          throw this.connectError(err);
        },
      )
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private drop(conn: GrpcH2Connection): void {
    if (this.conn === conn) this.conn = undefined;
    conn.close();
  }

  private connectError(err: unknown): MemberRequestError {
    return classifyTransportError(err, { endpoint: this.endpoint, dialTimeoutMs: this.dialTimeoutMs });
  }
}

/** Marks the deadline this client enforces itself, told apart from a server's DEADLINE_EXCEEDED. */
const TIMED_OUT = 'deadline passed (etcd-monitor)';

/** The first (for unary calls: only) message of a response body. */
function firstMessage(body: Buffer): Buffer {
  if (body.length < 5) throw new Error(`response body of ${body.length} bytes has no gRPC message`);
  if (body[0] !== 0) throw new Error('compressed gRPC response (none was asked for)');
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length)
    throw new Error(`gRPC message cut short: ${body.length - 5} of ${length} bytes`);
  return body.subarray(5, 5 + length);
}

/** Shortens OpenSSL's error text to its reason and says which setting usually fixes it. */
export function tlsHint(message: string): string {
  const reason =
    /(alert [a-z ]+|unable to verify[a-z ]+|self[- ]signed[a-z ]+|certificate has expired|wrong version number|Hostname\/IP does not match[^.]*)/i
      .exec(message)?.[1]
      ?.trim() ?? message;
  if (/bad certificate|certificate required|handshake failure/i.test(reason)) {
    return `${reason} (the member rejected the client certificate or none was sent: check --cert and --key)`;
  }
  if (/unable to verify|self[- ]signed/i.test(reason))
    return `${reason} (the server certificate is not trusted: check --cacert)`;
  return reason;
}
