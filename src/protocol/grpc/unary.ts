/**
 * Unary gRPC calls to one member over node:http2 (grpc/grpc doc/PROTOCOL-HTTP2.md). The deadline is
 * sent as `grpc-timeout` and enforced here too; messages are capped at 4 MiB both ways; the auth token
 * travels as the `token` metadata header marked never-indexed (RFC 7541 §7.1.3: nghttp2 then keeps it
 * out of both HPACK tables). Every failure is a MemberRequestError with a stable code naming the member.
 * No retries and no load balancing, so an answer is always this member's own; the one exception is a
 * stream the member refused unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream ID, RFC 7540
 * §8.1.4), which is sent once more on a new session.
 */
import http2 from 'node:http2';
import { classifyTransportError } from '../../util/classify-transport.js';
import {
  BadResponseError,
  ConnectionResetError,
  GrpcStatusError,
  MemberRequestError,
  MessageTooLargeError,
  ProtocolError,
  RequestTimeoutError,
} from '../../util/errors.js';
import { VERSION } from '../../util/version.js';
import type { H2Target } from '../h2/dial.js';
import {
  decodeGrpcMessage,
  frameMessage,
  grpcStatusOfHttp,
  grpcStatusOfRst,
  grpcTimeout,
  MAX_MESSAGE_BYTES,
  parseGrpcStatus,
  UnaryBody,
} from './framing.js';
import { MemberSession, type SessionOptions } from './session.js';

export interface UnaryClientOptions extends Partial<SessionOptions> {
  readonly dialTimeoutMs: number;
  /** The PING timeout defaults to it: a connection is dropped within twice this (see session.ts). */
  readonly requestTimeoutMs: number;
  readonly maxMessageBytes?: number;
}

export interface CallOptions {
  readonly timeoutMs: number;
  /** etcd auth token, sent as the `token` header. */
  readonly token?: string;
  /** What is asked ("status", "probe write"), for error messages. */
  readonly what?: string;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;
const USER_AGENT = `etcd-monitor/${VERSION}`;
/**
 * Idle PING after 5 s without an answer: etcd's --grpc-keepalive-min-time defaults to 5 s (PINGs closer
 * together count as strikes against the client), and the exporter's rounds are 5-30 s apart.
 */
const DEFAULT_IDLE_PING_MS = 5000;

export class GrpcUnaryClient {
  readonly endpoint: string;
  private readonly session: MemberSession;
  private readonly maxMessageBytes: number;

  constructor(target: H2Target, options: UnaryClientOptions) {
    this.session = new MemberSession(target, {
      dialTimeoutMs: options.dialTimeoutMs,
      pingTimeoutMs: options.pingTimeoutMs ?? options.requestTimeoutMs,
      idlePingMs: options.idlePingMs ?? DEFAULT_IDLE_PING_MS,
    });
    this.endpoint = this.session.endpoint;
    this.maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  }

  /** Sessions dialled so far; a redial after a lost connection counts one more. */
  get dials(): number {
    return this.session.dials;
  }

  /**
   * Sends `request` to `method` (e.g. `/etcdserverpb.Maintenance/Status`) and decodes the answer.
   * Rejects with a MemberRequestError: REQUEST_TIMEOUT, MESSAGE_TOO_LARGE, PROTOCOL_ERROR, BAD_RESPONSE
   * (the protobuf did not decode), GrpcStatusError (a non-OK status), or a connection/TLS code.
   */
  async call<T>(
    method: string,
    request: Uint8Array,
    decode: (message: Buffer) => T,
    opts: CallOptions,
  ): Promise<T> {
    const ctx = { what: opts.what ?? method };
    if (request.length > this.maxMessageBytes) {
      throw new MemberRequestError(
        'MESSAGE_TOO_LARGE',
        this.endpoint,
        `request of ${request.length} bytes is over the ${this.maxMessageBytes}-byte cap`,
        ctx,
      );
    }
    const deadline = Date.now() + opts.timeoutMs;
    const body = frameMessage(request);
    for (let attempt = 0; ; attempt++) {
      const result = await this.attempt(method, body, opts, deadline);
      if (result.kind === 'refused' && attempt === 0 && deadline - Date.now() > 0) continue;
      if (result.kind !== 'message') throw result.error;
      try {
        return decode(result.message);
      } catch (err) {
        throw new BadResponseError(
          this.endpoint,
          `${method}: not the expected protobuf message (${err instanceof Error ? err.message : String(err)})`,
          { cause: err, ...ctx },
        );
      }
    }
  }

  /** Closes the session; a later call dials a new one. */
  close(): void {
    this.session.close();
  }

  private async attempt(method: string, body: Buffer, opts: CallOptions, deadline: number): Promise<Outcome> {
    const what = opts.what ?? method;
    const timeoutMs = opts.timeoutMs;
    let session: http2.ClientHttp2Session;
    try {
      session = await this.session.acquire(deadline - Date.now());
    } catch (err) {
      return { kind: 'failed', error: this.classify(err, what, timeoutMs) };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0)
      return { kind: 'failed', error: new RequestTimeoutError(this.endpoint, timeoutMs, { what }) };
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': method,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': grpcTimeout(remaining),
      'user-agent': USER_AGENT,
    };
    if (opts.token) {
      headers['token'] = opts.token;
      (headers as Record<symbol, unknown>)[http2.sensitiveHeaders] = ['token'];
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch (err) {
      // E.g. stream IDs used up (2^31 per session) or the session closing: the next call dials anew.
      this.session.discard(session);
      return { kind: 'failed', error: this.classify(err, what, timeoutMs) };
    }
    return new Promise<Outcome>((resolve) => {
      const answer = new UnaryBody(this.maxMessageBytes);
      let httpStatus: number | undefined;
      let contentType: string | undefined;
      let grpcStatus: number | undefined;
      let grpcMessage = '';
      let streamError: Error | undefined;
      let settled = false;
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const fail = (error: MemberRequestError): void => {
        settle({ kind: 'failed', error });
        if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      };
      const timer = setTimeout(() => {
        fail(new RequestTimeoutError(this.endpoint, timeoutMs, { what }));
        this.session.deadlinePassed(session);
      }, remaining);
      const readStatus = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] === undefined) return;
        grpcStatus = parseGrpcStatus(h['grpc-status']) ?? -1;
        grpcMessage = decodeGrpcMessage(h['grpc-message']);
      };
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        contentType = h['content-type'];
        readStatus(h); // Trailers-Only: the status comes with the headers
        // Not a gRPC answer (a proxy's error page, an HTTP server): decided on the headers, body unread.
        const wrong = this.wrongHeaders(method, what, httpStatus, contentType);
        if (wrong) fail(wrong);
      });
      stream.on('data', (chunk: Buffer) => {
        if (settled) return; // failed already (deadline, cap): nothing more is kept
        const problem = answer.push(chunk);
        if (problem?.kind === 'too-large') {
          fail(new MessageTooLargeError(this.endpoint, this.maxMessageBytes, { what }));
        } else if (problem) fail(new ProtocolError(this.endpoint, `${method}: ${problem.detail}`, { what }));
      });
      stream.on('trailers', readStatus);
      stream.on('error', (err) => {
        streamError = err;
      });
      stream.on('close', () => {
        if (settled) return;
        const rst = stream.rstCode ?? 0;
        if (httpStatus === undefined && rst === NGHTTP2_REFUSED_STREAM) {
          // Not processed by the member (RFC 7540 §8.1.4): safe to send again.
          settle({
            kind: 'refused',
            error: new GrpcStatusError(14, this.endpoint, 'stream refused', { what }),
          });
        } else if (grpcStatus === undefined && streamError && !isStreamReset(streamError)) {
          settle({ kind: 'failed', error: this.classify(streamError, what, timeoutMs) });
        } else if (grpcStatus === undefined && rst === NGHTTP2_CANCEL && session.destroyed) {
          // nghttp2 cancels every open stream when the session's socket goes away (a member killed or
          // restarted mid-call): the connection was lost, the member did not cancel anything.
          settle({
            kind: 'failed',
            error: new ConnectionResetError(this.endpoint, {
              what,
              detail: 'the HTTP/2 session closed with the call open',
              ...(streamError ? { cause: streamError } : {}),
            }),
          });
        } else if (grpcStatus === undefined && rst !== 0) {
          settle({
            kind: 'failed',
            error: new GrpcStatusError(
              grpcStatusOfRst(rst),
              this.endpoint,
              `stream reset (HTTP/2 error ${rst})`,
              {
                what,
                ...(streamError ? { cause: streamError } : {}),
              },
            ),
          });
        } else {
          settle(this.finish(method, what, httpStatus, contentType, grpcStatus, grpcMessage, answer));
          if (grpcStatus !== undefined) this.session.answered(session);
        }
      });
      stream.end(body);
    });
  }

  /** The outcome of a stream that ended normally. */
  private finish(
    method: string,
    what: string,
    httpStatus: number | undefined,
    contentType: string | undefined,
    grpcStatus: number | undefined,
    grpcMessage: string,
    answer: UnaryBody,
  ): Outcome {
    const opts = { what };
    const wrong = this.wrongHeaders(method, what, httpStatus, contentType);
    if (wrong) return { kind: 'failed', error: wrong };
    if (grpcStatus === undefined || grpcStatus < 0) {
      const detail = grpcStatus === undefined ? 'no grpc-status' : 'grpc-status is not a status code';
      return { kind: 'failed', error: new ProtocolError(this.endpoint, `${method}: ${detail}`, opts) };
    }
    if (grpcStatus !== 0)
      return { kind: 'failed', error: new GrpcStatusError(grpcStatus, this.endpoint, grpcMessage, opts) };
    const message = answer.message();
    if (!Buffer.isBuffer(message))
      return {
        kind: 'failed',
        error: new ProtocolError(
          this.endpoint,
          `${method}: ${message.kind === 'malformed' ? message.detail : 'too large'}`,
          opts,
        ),
      };
    return { kind: 'message', message };
  }

  /** Why response headers are not a gRPC answer, if they are not. */
  private wrongHeaders(
    method: string,
    what: string,
    httpStatus: number | undefined,
    contentType: string | undefined,
  ): MemberRequestError | undefined {
    if (httpStatus !== 200) {
      // grpc/grpc doc/http-grpc-status-mapping.md: a proxy's answer, not the member's.
      const code = httpStatus === undefined ? 13 : grpcStatusOfHttp(httpStatus);
      return new GrpcStatusError(code, this.endpoint, `HTTP status ${httpStatus ?? 'missing'}`, { what });
    }
    if (!contentType?.startsWith('application/grpc'))
      return new ProtocolError(this.endpoint, `${method}: content-type ${contentType ?? 'missing'}`, {
        what,
      });
    return undefined;
  }

  private classify(err: unknown, what: string, timeoutMs: number): MemberRequestError {
    return classifyTransportError(err, { endpoint: this.endpoint, what, timeoutMs });
  }
}

type Outcome =
  | { readonly kind: 'message'; readonly message: Buffer }
  | { readonly kind: 'failed' | 'refused'; readonly error: MemberRequestError };

/** Node's error for a stream the member reset: the RST code says more than it. */
function isStreamReset(err: Error): boolean {
  return (err as { code?: unknown }).code === 'ERR_HTTP2_STREAM_ERROR';
}
