import {
  ConnectionResetError,
  GrpcStatusError,
  ProtocolError,
  RequestTimeoutError,
  type MemberRequestError,
} from '../../util/errors.js';
import { h2ErrorName } from './frames.js';

// Typed failures of the hand-framed HTTP/2 client. Their `code` is one of the project's transport codes
// (src/util/errors.ts); the HTTP/2 error code (RFC 7540 §7) rides along as `h2Code` for tests and logs.

/** The server broke HTTP/2 (or HPACK); we sent GOAWAY with `h2Code` and closed the connection. */
export class H2ProtocolError extends ProtocolError {
  constructor(
    endpoint: string,
    readonly h2Code: number,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(endpoint, `HTTP/2 ${h2ErrorName(h2Code)}: ${detail}`, options);
  }
}

/**
 * The server reset the stream (RST_STREAM, RFC 7540 §6.4). The gRPC status follows gRPC's
 * PROTOCOL-HTTP2.md "Errors" table: REFUSED_STREAM → UNAVAILABLE, CANCEL → CANCELLED,
 * ENHANCE_YOUR_CALM → RESOURCE_EXHAUSTED, INADEQUATE_SECURITY → PERMISSION_DENIED, the rest INTERNAL.
 */
export class StreamResetError extends GrpcStatusError {
  constructor(
    endpoint: string,
    readonly h2Code: number,
  ) {
    super(rstToGrpc(h2Code), endpoint, `stream reset by the server (RST_STREAM ${h2ErrorName(h2Code)})`);
  }
}

function rstToGrpc(h2Code: number): number {
  switch (h2Code) {
    case 0x7:
      return 14;
    case 0x8:
      return 1;
    case 0xb:
      return 8;
    case 0xc:
      return 7;
    default:
      return 13;
  }
}

/** A PING sent after a missed deadline or an idle period got no ACK in time: the connection was dropped. */
export class KeepaliveTimeoutError extends RequestTimeoutError {
  readonly keepalive = true;
}

/** The connection ended (closed, reset, or GOAWAY) before the call's answer was complete. */
export class H2ConnectionLostError extends ConnectionResetError {}

/** gRPC status a failure is reported with to the load generator's callbacks (which count by status). */
export function grpcStatusOf(err: MemberRequestError): number {
  if (err instanceof GrpcStatusError) return err.grpcCode;
  switch (err.code) {
    case 'REQUEST_TIMEOUT':
      return 4; // DEADLINE_EXCEEDED
    case 'MESSAGE_TOO_LARGE':
      return 8; // RESOURCE_EXHAUSTED, as grpc-go reports a message over its receive limit
    case 'PROTOCOL_ERROR':
    case 'BAD_RESPONSE':
      return 13; // INTERNAL
    default:
      return 14; // UNAVAILABLE
  }
}
