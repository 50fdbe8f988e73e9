/**
 * gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md): the length-prefixed message, the `grpc-timeout`
 * header, `grpc-message` percent-decoding, and what a response without a grpc-status means.
 */

/**
 * Cap on a message in either direction: grpc-go's and grpc-js's default receive limit (4 MiB). The
 * largest answer the exporter reads, a member list, is a few hundred bytes per member.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Length-Prefixed-Message: compressed flag (0), 4-byte big-endian length, the message. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * `grpc-timeout` for a deadline `ms` from now: at most 8 digits (PROTOCOL-HTTP2.md, TimeoutValue),
 * in milliseconds while that fits (27 hours), else in seconds. At least 1: a 0 timeout is already over.
 */
export function grpcTimeout(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  return m <= 99_999_999 ? `${m}m` : `${Math.min(99_999_999, Math.ceil(m / 1000))}S`;
}

/**
 * `grpc-message` is percent-encoded UTF-8 (PROTOCOL-HTTP2.md, "Status-Message"); a value that does not
 * decode is shown as sent, as grpc-go does.
 */
export function decodeGrpcMessage(value: string | string[] | undefined): string {
  const raw = Array.isArray(value) ? value.join(',') : (value ?? '');
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** grpc-status as a number, or undefined when absent or not a decimal status code. */
export function parseGrpcStatus(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || !/^\d{1,3}$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * The gRPC status of an HTTP status that is not 200 (grpc/grpc doc/http-grpc-status-mapping.md): a
 * proxy's 503 is UNAVAILABLE, not a broken member.
 */
export function grpcStatusOfHttp(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** The gRPC status of an RST_STREAM error code (PROTOCOL-HTTP2.md, "Errors"; RFC 7540 §7). */
export function grpcStatusOfRst(code: number): number {
  switch (code) {
    case 0x7: // REFUSED_STREAM: not processed, safe to retry
      return 14; // UNAVAILABLE
    case 0x8: // CANCEL
      return 1; // CANCELLED
    case 0xb: // ENHANCE_YOUR_CALM
      return 8; // RESOURCE_EXHAUSTED
    case 0xc: // INADEQUATE_SECURITY
      return 7; // PERMISSION_DENIED
    default: // NO_ERROR without a status, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, ...
      return 13; // INTERNAL
  }
}

/** What went wrong while reading a unary response body. */
export type BodyProblem =
  | { readonly kind: 'too-large'; readonly bytes: number }
  | { readonly kind: 'malformed'; readonly detail: string };

/**
 * Collects a unary response body (exactly one Length-Prefixed-Message) under the size cap. It stops at
 * the first problem: a declared length over the cap fails before any of the message is buffered.
 */
export class UnaryBody {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private declared: number | undefined;

  constructor(private readonly maxBytes: number) {}

  /** Adds a DATA chunk; returns the problem if the body can no longer be a valid answer. */
  push(chunk: Buffer): BodyProblem | undefined {
    this.received += chunk.length;
    this.chunks.push(chunk);
    if (this.declared === undefined && this.received >= 5) {
      const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
      if (head[0] !== 0)
        return { kind: 'malformed', detail: `compressed-flag ${head[0]} (no compression was offered)` };
      this.declared = head.readUInt32BE(1);
    }
    if (this.declared !== undefined && this.declared > this.maxBytes)
      return { kind: 'too-large', bytes: this.declared };
    if (this.received - 5 > this.maxBytes) return { kind: 'too-large', bytes: this.received - 5 };
    if (this.declared !== undefined && this.received > 5 + this.declared)
      return { kind: 'malformed', detail: 'more than one message in a unary response' };
    return undefined;
  }

  /** The message once the stream ended, or the problem. */
  message(): Buffer | BodyProblem {
    if (this.received === 0) return { kind: 'malformed', detail: 'status OK without a message' };
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    if (this.declared === undefined || body.length < 5 + this.declared) {
      return {
        kind: 'malformed',
        detail: `message cut short: ${Math.max(0, body.length - 5)} of ${this.declared ?? '?'} bytes`,
      };
    }
    return body.subarray(5, 5 + this.declared);
  }
}
