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

/** A request to one etcd member failed or timed out. */
export class MemberRequestError extends MonitorError {
  constructor(
    code: 'MEMBER_TIMEOUT' | 'MEMBER_UNREACHABLE' | 'MEMBER_BAD_RESPONSE' | 'MEMBER_TLS',
    readonly endpoint: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${endpoint}: ${message}`, options);
  }
}

/** Best-effort one-line description of anything thrown, for logs and API errors (never a stack trace). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause && !err.message.includes(cause.slice(2)) ? cause : ''}`;
  }
  return String(err);
}
