import {
  AuthFailedError,
  BadResponseError,
  ConnectionRefusedError,
  ConnectionResetError,
  ConnectTimeoutError,
  DnsError,
  GrpcStatusError,
  grpcStatusCode,
  HostUnreachableError,
  MemberRequestError,
  MessageTooLargeError,
  MonitorError,
  ProtocolError,
  RequestTimeoutError,
  TlsError,
  TRANSPORT_ERROR_CODES,
  UnknownTransportError,
  type TlsErrorCode,
  type TransportErrorCode,
} from './errors.js';

/** Where a failed request went and what it asked; only `endpoint` is required. */
export interface TransportContext {
  readonly endpoint: string;
  /** What was asked ("/metrics", "status"); prefixes the message. */
  readonly what?: string;
  readonly dialTimeoutMs?: number;
  /** The request's deadline, for REQUEST_TIMEOUT's message. */
  readonly timeoutMs?: number;
  /** The call was etcd's Authenticate: any gRPC status it ends with means the credentials were refused. */
  readonly authenticating?: boolean;
  /** The member's certificate when the caller could read it (tls.TLSSocket#getPeerCertificate()). */
  readonly peerCertificate?: { readonly valid_from?: string; readonly valid_to?: string };
}

/** Node / OpenSSL X.509 verification codes (node src/crypto/crypto_common.cc) that mean "chain not trusted". */
const UNTRUSTED = [
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_CHAIN_TOO_LONG',
];

/**
 * TLS alerts the member sends when it does not accept our client certificate (RFC 8446 §6.2:
 * bad_certificate 42, unsupported_certificate 43, certificate_revoked 44, certificate_expired 45,
 * certificate_unknown 46, unknown_ca 48, access_denied 49, certificate_required 116), as Node names them.
 */
const CLIENT_CERT_REJECTED = [
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
];

const TLS_CODES = new Map<string, TlsErrorCode>([
  ['CERT_HAS_EXPIRED', 'TLS_CERT_EXPIRED'],
  ['CERT_NOT_YET_VALID', 'TLS_CERT_NOT_YET_VALID'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_HOSTNAME_MISMATCH'],
  ['HOSTNAME_MISMATCH', 'TLS_HOSTNAME_MISMATCH'],
  ...UNTRUSTED.map((c) => [c, 'TLS_CERT_UNTRUSTED'] as const),
  ...CLIENT_CERT_REJECTED.map((c) => [c, 'TLS_BAD_CERTIFICATE'] as const),
]);

/** Node errno / undici / http2 codes with a meaning of their own. */
const CODES = new Map<string, TransportErrorCode>([
  ['ECONNREFUSED', 'CONNECTION_REFUSED'],
  ['ETIMEDOUT', 'CONNECT_TIMEOUT'],
  ['UND_ERR_CONNECT_TIMEOUT', 'CONNECT_TIMEOUT'],
  ['ERR_SOCKET_CONNECTION_TIMEOUT', 'CONNECT_TIMEOUT'],
  ['ERR_TLS_HANDSHAKE_TIMEOUT', 'CONNECT_TIMEOUT'],
  ['EHOSTUNREACH', 'HOST_UNREACHABLE'],
  ['ENETUNREACH', 'HOST_UNREACHABLE'],
  ['EHOSTDOWN', 'HOST_UNREACHABLE'],
  ['ENETDOWN', 'HOST_UNREACHABLE'],
  ['EADDRNOTAVAIL', 'HOST_UNREACHABLE'],
  ['ENOTFOUND', 'DNS_FAILED'],
  ['EAI_AGAIN', 'DNS_FAILED'],
  ['EAI_FAIL', 'DNS_FAILED'],
  ['EAI_NONAME', 'DNS_FAILED'],
  ['EAI_NODATA', 'DNS_FAILED'],
  ['UND_ERR_HEADERS_TIMEOUT', 'REQUEST_TIMEOUT'],
  ['UND_ERR_BODY_TIMEOUT', 'REQUEST_TIMEOUT'],
  ['ECONNRESET', 'CONNECTION_RESET'],
  ['EPIPE', 'CONNECTION_RESET'],
  ['ECONNABORTED', 'CONNECTION_RESET'],
  ['UND_ERR_SOCKET', 'CONNECTION_RESET'],
  ['ERR_STREAM_PREMATURE_CLOSE', 'CONNECTION_RESET'],
  ['ERR_HTTP2_GOAWAY_SESSION', 'CONNECTION_RESET'],
  ['ERR_HTTP2_INVALID_SESSION', 'CONNECTION_RESET'],
  ['ERR_HTTP2_SOCKET_UNBOUND', 'CONNECTION_RESET'],
  ['ERR_HTTP2_STREAM_CANCEL', 'CONNECTION_RESET'],
  ['UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE', 'MESSAGE_TOO_LARGE'],
  ['UND_ERR_HEADERS_OVERFLOW', 'MESSAGE_TOO_LARGE'],
  ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'BAD_RESPONSE'],
]);

/** Codes that an inner cause may explain better (a reset caused by a TLS alert is a TLS problem). */
const WEAK = new Set<TransportErrorCode>(['CONNECTION_RESET', 'PROTOCOL_ERROR', 'UNKNOWN']);

interface Found {
  readonly code: TransportErrorCode;
  readonly source: unknown;
  /** Node/OpenSSL/undici code, for the message. */
  readonly raw?: string;
  /** The gRPC status number, when the code came from one. */
  readonly grpc?: number;
}

/** What one error in the chain says, by its own code alone (never its message). */
function codeOf(e: unknown, ctx: TransportContext): Found | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  if (e instanceof MonitorError && e.code in TRANSPORT_ERROR_CODES)
    return { code: e.code as TransportErrorCode, source: e };
  const o = e as { name?: unknown; code?: unknown; grpcCode?: unknown; details?: unknown };
  // AbortSignal.timeout() rejects with a DOMException named TimeoutError (its numeric code is 23).
  if (o.name === 'TimeoutError') return { code: 'REQUEST_TIMEOUT', source: e };
  // undici's HTTPParserError leaves `code` unset when llhttp gives none; its class name is the fact.
  if (o.name === 'HTTPParserError' && typeof o.code !== 'string')
    return { code: 'PROTOCOL_ERROR', source: e, raw: 'HTTPParserError' };
  const grpc = typeof o.grpcCode === 'number' ? o.grpcCode : grpcJsStatus(o);
  if (grpc !== undefined) return { code: grpcCode(grpc, ctx), source: e, grpc };
  if (typeof o.code !== 'string') return undefined;
  const raw = o.code;
  const code =
    TLS_CODES.get(raw) ??
    CODES.get(raw) ??
    (raw.startsWith('ERR_SSL_') || raw.startsWith('ERR_TLS_') || raw === 'EPROTO'
      ? 'TLS_OTHER'
      : raw.startsWith('HPE_') || raw.startsWith('ERR_HTTP2_') || raw === 'UND_ERR_INFO'
        ? 'PROTOCOL_ERROR'
        : undefined);
  return code ? { code, source: e, raw } : undefined;
}

/** grpc-js ServiceError: numeric `code` plus `details` and `metadata`. */
function grpcJsStatus(o: { code?: unknown; details?: unknown }): number | undefined {
  return typeof o.code === 'number' && typeof o.details === 'string' && 'metadata' in o ? o.code : undefined;
}

function grpcCode(status: number, ctx: TransportContext): TransportErrorCode {
  if (ctx.authenticating && status !== 4 && status !== 14) return 'AUTH_FAILED';
  return grpcStatusCode(status);
}

/** Errors reachable from `err` through `cause` and AggregateError's `errors`, outermost first (bounded). */
function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  const queue = [err];
  while (queue.length > 0 && out.length < 16) {
    const e = queue.shift();
    if (e === undefined || e === null || out.includes(e)) continue;
    out.push(e);
    if (typeof e === 'object') {
      const o = e as { cause?: unknown; errors?: unknown };
      queue.push(o.cause);
      if (Array.isArray(o.errors)) queue.push(...(o.errors as unknown[]).slice(0, 4));
    }
  }
  return out;
}

/**
 * The one place that decides why a request to a member failed: walks `err`'s cause chain and maps
 * the first specific code it finds (Node errno, OpenSSL verification/alert, undici UND_ERR_*,
 * ERR_HTTP2_*, gRPC status) to a MemberRequestError subclass. An error that is already one is
 * returned as it is (prefixed with `ctx.what` if it had none), so classifying twice changes nothing.
 */
export function classifyTransportError(err: unknown, ctx: TransportContext): MemberRequestError {
  const found = chain(err)
    .map((e) => codeOf(e, ctx))
    .filter((f): f is Found => f !== undefined);
  const best = found.find((f) => !WEAK.has(f.code)) ?? found[0];
  if (best?.source instanceof MemberRequestError) return withWhat(best.source, ctx);
  const options = { cause: err, ...(ctx.what ? { what: ctx.what } : {}) };
  if (!best)
    return new UnknownTransportError(
      ctx.endpoint,
      `${err instanceof Error ? err.message : String(err)}`,
      options,
    );
  if (best.source instanceof MonitorError)
    return new MemberRequestError(best.code, ctx.endpoint, best.source.message, options);
  return build(best, err, ctx, options);
}

function build(
  best: Found,
  err: unknown,
  ctx: TransportContext,
  options: { cause: unknown; what?: string },
): MemberRequestError {
  const { endpoint } = ctx;
  const raw = best.raw ?? '';
  const source = best.source as { message?: unknown; details?: unknown; cert?: { subjectaltname?: unknown } };
  switch (best.code) {
    case 'CONNECTION_REFUSED':
      return new ConnectionRefusedError(endpoint, options);
    case 'CONNECT_TIMEOUT':
      return new ConnectTimeoutError(endpoint, ctx.dialTimeoutMs, options);
    case 'HOST_UNREACHABLE':
      return new HostUnreachableError(endpoint, options);
    case 'DNS_FAILED':
      return new DnsError(endpoint, options);
    case 'REQUEST_TIMEOUT':
      if (best.grpc !== undefined) break; // a member's own DEADLINE_EXCEEDED status: keep its details
      return new RequestTimeoutError(endpoint, ctx.timeoutMs, options);
    case 'TLS_CERT_EXPIRED':
    case 'TLS_CERT_NOT_YET_VALID':
    case 'TLS_CERT_UNTRUSTED':
    case 'TLS_HOSTNAME_MISMATCH':
    case 'TLS_BAD_CERTIFICATE':
    case 'TLS_OTHER':
      return new TlsError(best.code, endpoint, raw, {
        ...options,
        detail: tlsDetail(best.code, source, ctx),
      });
    case 'CONNECTION_RESET':
      return new ConnectionResetError(endpoint, { ...options, detail: raw });
    case 'PROTOCOL_ERROR':
      return new ProtocolError(
        endpoint,
        `${raw}${messageOf(source) ? ` ${messageOf(source)}` : ''}`,
        options,
      );
    case 'MESSAGE_TOO_LARGE':
      return new MessageTooLargeError(endpoint, undefined, options);
    case 'BAD_RESPONSE':
      return new BadResponseError(endpoint, `${raw} ${messageOf(source)}`.trim(), options);
    case 'AUTH_FAILED':
      return new AuthFailedError(endpoint, {
        ...options,
        detail: String(source.details ?? messageOf(source)),
      });
    default:
      break;
  }
  if (best.grpc !== undefined)
    return new GrpcStatusError(best.grpc, endpoint, String(source.details ?? messageOf(source)), options);
  return new UnknownTransportError(endpoint, messageOf(err), options);
}

function messageOf(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(e);
}

/** Facts the error object carries as fields (never parsed out of its message). */
function tlsDetail(
  code: TlsErrorCode,
  source: { cert?: { subjectaltname?: unknown } },
  ctx: TransportContext,
) {
  const cert = ctx.peerCertificate;
  if (code === 'TLS_CERT_EXPIRED' && cert?.valid_to) return `on ${isoDate(cert.valid_to)}`;
  if (code === 'TLS_CERT_NOT_YET_VALID' && cert?.valid_from) return `before ${isoDate(cert.valid_from)}`;
  // ERR_TLS_CERT_ALTNAME_INVALID carries the peer certificate (node lib/tls.js checkServerIdentity).
  if (code === 'TLS_HOSTNAME_MISMATCH' && typeof source.cert?.subjectaltname === 'string')
    return `(it names ${source.cert.subjectaltname})`;
  return undefined;
}

/** OpenSSL's "Dec  1 00:00:00 2026 GMT" as an ISO timestamp. */
function isoDate(openssl: string): string {
  const t = Date.parse(openssl);
  return Number.isNaN(t) ? openssl : new Date(t).toISOString();
}

function withWhat(e: MemberRequestError, ctx: TransportContext): MemberRequestError {
  if (!ctx.what || e.what !== undefined) return e;
  const own = e.message.startsWith(`${e.endpoint}: `) ? e.message.slice(e.endpoint.length + 2) : e.message;
  return new MemberRequestError(e.code, e.endpoint, own, { cause: e.cause ?? e, what: ctx.what });
}
