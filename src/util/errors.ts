/**
 * Errors etcd-monitor raises on purpose, in undici's style: a class per failure with a stable string
 * `code` (metric label, API field, log field) and the original error as `cause`. Nothing here ever
 * looks at message text; `classifyTransportError` (./classify-transport.ts) maps Node, OpenSSL,
 * undici, HTTP/2 and gRPC codes onto these classes.
 */

/** Base class of every error etcd-monitor raises on purpose: a stable machine-readable `code` plus the cause. */
export class MonitorError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Raised while loading configuration; `field` names the offending setting as the user wrote it. */
export class ConfigError extends MonitorError {
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CONFIG_INVALID', `invalid configuration: ${field}: ${message}`, options);
  }
}

/**
 * The command line was wrong (unknown command or flag, missing argument): exit status 2 like a ConfigError,
 * but the message says what was typed instead of "invalid configuration".
 */
export class UsageError extends MonitorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}

/** gRPC status names by number (grpc/grpc doc/statuscodes.md); codes above 16 are reported as UNKNOWN. */
export const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

/**
 * Every code a failed request to a member can carry, with what an operator should check. The list is
 * the contract of `etcd_monitor_collector_errors_total{code}` and of the API's `lastError.code`:
 * codes are added, never renamed. DEADLINE_EXCEEDED and UNAUTHENTICATED have codes of their own.
 */
export const TRANSPORT_ERROR_CODES = {
  CONNECTION_REFUSED: 'nothing listens at the endpoint: is etcd running, and is this its client URL?',
  CONNECT_TIMEOUT: 'no connection within the dial timeout: host down, or a firewall drops packets',
  HOST_UNREACHABLE: 'no route to the host (EHOSTUNREACH/ENETUNREACH)',
  DNS_FAILED: "the endpoint's host name does not resolve",
  REQUEST_TIMEOUT: 'connected, but no answer within the request timeout: member overloaded or stalled',
  TLS_CERT_EXPIRED: "the member's certificate expired: renew it (etcd --cert-file)",
  TLS_CERT_NOT_YET_VALID: "the member's certificate is not valid yet: check both hosts' clocks",
  TLS_CERT_UNTRUSTED: "the member's certificate is not signed by a trusted CA: check --cacert",
  TLS_HOSTNAME_MISMATCH: "the member's certificate does not name the endpoint's host: check its SANs",
  TLS_BAD_CERTIFICATE: 'the member rejected the client certificate, or none was sent: check --cert and --key',
  TLS_OTHER: 'the TLS handshake failed (e.g. https:// to a plain-HTTP port)',
  CONNECTION_RESET: 'the connection was reset or closed before the answer was complete',
  PROTOCOL_ERROR: 'the member broke the HTTP/2 or gRPC protocol (or something in between did)',
  MESSAGE_TOO_LARGE: 'the answer exceeded its size cap',
  BAD_RESPONSE: 'the member answered, but not with what was asked for',
  AUTH_FAILED: 'etcd rejected the user name or password: check --user and --password-file',
  UNAUTHENTICATED: 'etcd refused the auth token (expired or revoked); it is fetched again',
  UNKNOWN: 'not classified; see the message',
  ...(Object.fromEntries(
    GRPC_STATUS_NAMES.filter((n) => n !== 'OK' && n !== 'DEADLINE_EXCEEDED' && n !== 'UNAUTHENTICATED').map(
      (n) => [`GRPC_${n}`, `the member answered with gRPC status ${n}`],
    ),
  ) as Record<`GRPC_${Exclude<GrpcStatusName, 'OK' | 'DEADLINE_EXCEEDED' | 'UNAUTHENTICATED'>}`, string>),
} as const;
export type TransportErrorCode = keyof typeof TRANSPORT_ERROR_CODES;

/** `https://host:port` → `host:port`, for messages ("nothing listens at 127.0.0.1:2379"). */
function hostPort(endpoint: string): string {
  try {
    return new URL(endpoint).host || endpoint;
  } catch {
    return endpoint;
  }
}

interface RequestErrorOptions {
  readonly cause?: unknown;
  /** What was asked ("/metrics", "status", "member list"); prefixes the message. */
  readonly what?: string;
}

/**
 * A request to one etcd member failed. Subclasses fix the code; the message says why and what to
 * check, prefixed by the endpoint and what was asked: `https://10.0.0.1:2379: status: TLS: …`.
 */
export class MemberRequestError extends MonitorError {
  declare readonly code: TransportErrorCode;
  readonly what: string | undefined;

  constructor(
    code: TransportErrorCode,
    readonly endpoint: string,
    message: string,
    options: RequestErrorOptions = {},
  ) {
    super(code, `${endpoint}: ${options.what ? `${options.what}: ` : ''}${message}`, options);
    this.what = options.what;
  }
}

export class ConnectionRefusedError extends MemberRequestError {
  constructor(endpoint: string, options?: RequestErrorOptions) {
    super(
      'CONNECTION_REFUSED',
      endpoint,
      `connection refused: nothing listens at ${hostPort(endpoint)} (is etcd running, and is this its client URL?)`,
      options,
    );
  }
}

export class ConnectTimeoutError extends MemberRequestError {
  constructor(endpoint: string, timeoutMs: number | undefined, options?: RequestErrorOptions) {
    super(
      'CONNECT_TIMEOUT',
      endpoint,
      `no connection to ${hostPort(endpoint)} within ${timeoutMs ?? 'the dial timeout'}${timeoutMs ? ' ms' : ''} (host down, or a firewall drops the packets; --dial-timeout)`,
      options,
    );
  }
}

export class HostUnreachableError extends MemberRequestError {
  constructor(endpoint: string, options?: RequestErrorOptions) {
    super('HOST_UNREACHABLE', endpoint, `no route to ${hostPort(endpoint)} (network or host down)`, options);
  }
}

export class DnsError extends MemberRequestError {
  constructor(endpoint: string, options?: RequestErrorOptions) {
    const host = hostPort(endpoint).replace(/:\d+$/, '');
    super('DNS_FAILED', endpoint, `cannot resolve ${host} (check the endpoint's host name and DNS)`, options);
  }
}

/** Connected, asked, and no (complete) answer came within the deadline. */
export class RequestTimeoutError extends MemberRequestError {
  constructor(endpoint: string, timeoutMs: number | undefined, options?: RequestErrorOptions) {
    super(
      'REQUEST_TIMEOUT',
      endpoint,
      timeoutMs === undefined
        ? 'no answer within the deadline (member overloaded or stalled; --request-timeout)'
        : `no answer within ${timeoutMs} ms (member overloaded or stalled; --request-timeout)`,
      options,
    );
  }
}

export type TlsErrorCode =
  | 'TLS_CERT_EXPIRED'
  | 'TLS_CERT_NOT_YET_VALID'
  | 'TLS_CERT_UNTRUSTED'
  | 'TLS_HOSTNAME_MISMATCH'
  | 'TLS_BAD_CERTIFICATE'
  | 'TLS_OTHER';

/** The TLS handshake (or the first read after it, for a TLS 1.3 client-certificate rejection) failed. */
export class TlsError extends MemberRequestError {
  declare readonly code: TlsErrorCode;

  constructor(
    code: TlsErrorCode,
    endpoint: string,
    /** Node's/OpenSSL's code, e.g. CERT_HAS_EXPIRED or ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE. */
    readonly tlsCode: string,
    options?: RequestErrorOptions & { readonly detail?: string },
  ) {
    super(code, endpoint, `TLS: ${tlsMessage(code, endpoint, tlsCode, options?.detail)}`, options);
  }
}

/** What usually causes a TLS failure that has no class of its own, by Node's/OpenSSL's code. */
const TLS_OTHER_HINTS: Readonly<Record<string, string>> = {
  ERR_SSL_WRONG_VERSION_NUMBER: 'the member does not speak TLS on this port: use http://',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'the member does not speak TLS on this port: use http://',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE:
    'no common cipher suite, or the member requires a client certificate: check --cert and --key',
  EPROTO: 'the member does not speak TLS on this port, or speaks no common TLS version',
};

function tlsMessage(code: TlsErrorCode, endpoint: string, tlsCode: string, detail?: string): string {
  const extra = detail ? ` ${detail}` : '';
  switch (code) {
    case 'TLS_CERT_EXPIRED':
      return `the member's certificate has expired${extra} (renew etcd's --cert-file) [${tlsCode}]`;
    case 'TLS_CERT_NOT_YET_VALID':
      return `the member's certificate is not valid yet${extra} (check both hosts' clocks) [${tlsCode}]`;
    case 'TLS_CERT_UNTRUSTED':
      return `the member's certificate is not signed by a CA this exporter trusts${extra} (check --cacert) [${tlsCode}]`;
    case 'TLS_HOSTNAME_MISMATCH':
      return `the member's certificate is not valid for ${hostPort(endpoint).replace(/:\d+$/, '')}${extra} (the endpoint's host must be one of its SANs) [${tlsCode}]`;
    case 'TLS_BAD_CERTIFICATE':
      return `the member rejected the client certificate, or none was sent${extra} (check --cert and --key, and that etcd's --trusted-ca-file signed them) [${tlsCode}]`;
    default:
      return `handshake failed${extra} (${TLS_OTHER_HINTS[tlsCode] ?? 'check the endpoint scheme and the TLS flags'}) [${tlsCode}]`;
  }
}

export class ConnectionResetError extends MemberRequestError {
  constructor(endpoint: string, options?: RequestErrorOptions & { readonly detail?: string }) {
    super(
      'CONNECTION_RESET',
      endpoint,
      `connection to ${hostPort(endpoint)} reset or closed before the answer was complete${options?.detail ? ` (${options.detail})` : ''}`,
      options,
    );
  }
}

/** The peer broke HTTP/1.1, HTTP/2 or gRPC framing; the connection it happened on is not reused. */
export class ProtocolError extends MemberRequestError {
  constructor(endpoint: string, detail: string, options?: RequestErrorOptions) {
    super('PROTOCOL_ERROR', endpoint, `protocol error: ${detail}`, options);
  }
}

export class MessageTooLargeError extends MemberRequestError {
  constructor(endpoint: string, limitBytes: number | undefined, options?: RequestErrorOptions) {
    super(
      'MESSAGE_TOO_LARGE',
      endpoint,
      limitBytes === undefined ? 'answer larger than its size cap' : `answer larger than ${limitBytes} bytes`,
      options,
    );
  }
}

/** The member answered, but with something else than asked for (HTTP status, body, protobuf). */
export class BadResponseError extends MemberRequestError {
  constructor(endpoint: string, detail: string, options?: RequestErrorOptions) {
    super('BAD_RESPONSE', endpoint, detail, options);
  }
}

/** etcd rejected the configured user name or password (Authenticate failed). */
export class AuthFailedError extends MemberRequestError {
  constructor(endpoint: string, options?: RequestErrorOptions & { readonly detail?: string }) {
    super(
      'AUTH_FAILED',
      endpoint,
      `authentication failed${options?.detail ? ` (${options.detail})` : ''}: check --user and --password-file`,
      options,
    );
  }
}

/**
 * A call came back with a non-OK gRPC status. `code` is GRPC_<NAME>, except DEADLINE_EXCEEDED
 * (REQUEST_TIMEOUT) and UNAUTHENTICATED (UNAUTHENTICATED: the token is fetched again on it).
 */
export class GrpcStatusError extends MemberRequestError {
  constructor(
    readonly grpcCode: number,
    endpoint: string,
    /** grpc-message as the member sent it. */
    readonly details: string,
    options?: RequestErrorOptions,
  ) {
    const name = GRPC_STATUS_NAMES[grpcCode] ?? 'UNKNOWN';
    super(grpcStatusCode(grpcCode), endpoint, `gRPC ${name}${details ? `: ${details}` : ''}`, options);
  }
}

/** The TransportErrorCode of a gRPC status number. */
export function grpcStatusCode(grpcCode: number): TransportErrorCode {
  const name = GRPC_STATUS_NAMES[grpcCode];
  if (name === undefined || name === 'OK') return 'GRPC_UNKNOWN';
  if (name === 'DEADLINE_EXCEEDED') return 'REQUEST_TIMEOUT';
  if (name === 'UNAUTHENTICATED') return 'UNAUTHENTICATED';
  return `GRPC_${name}`;
}

/** Anything that none of the rules recognise; the message keeps the original's. */
export class UnknownTransportError extends MemberRequestError {
  constructor(endpoint: string, detail: string, options?: RequestErrorOptions) {
    super('UNKNOWN', endpoint, detail, options);
  }
}

/** Best-effort one-line description of anything thrown, for logs and API errors (never a stack trace). */
export function describeError(err: unknown): string {
  // A classified request error's message already says what the cause was (and its code), once.
  if (err instanceof MemberRequestError) return err.message;
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause && !err.message.includes(cause.slice(2)) ? cause : ''}`;
  }
  return String(err);
}

/** The stable code of anything thrown: a MonitorError's own, otherwise UNKNOWN. */
export function errorCode(err: unknown): string {
  return err instanceof MonitorError ? err.code : 'UNKNOWN';
}
