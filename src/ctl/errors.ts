import {
  ClientClosedError,
  ClientRuntimeError,
  EtcdAuthenticationFailedError,
  EtcdInvalidAuthTokenError,
  EtcdLeaseInvalidError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCNotFoundError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
} from 'etcd3';
import { MonitorError } from '../util/errors.js';

/**
 * Failure kinds of an operation, each with its own process exit status so scripts can branch without
 * parsing messages. 2 is shared with the rest of the CLI (bad usage or configuration).
 */
export const EXIT_CODES = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  COMPARE_FAILED: 3,
  UNAVAILABLE: 4,
  UNHEALTHY: 4,
  AUTH: 5,
  VERIFY_FAILED: 6,
} as const;

export type CtlErrorKind = Exclude<keyof typeof EXIT_CODES, 'OK'>;

/** An operation failed in a way the caller can act on; `code` is the kind, `exitCode` the CLI status. */
export class CtlError extends MonitorError {
  readonly exitCode: number;
  constructor(
    readonly kind: CtlErrorKind,
    message: string,
    options?: { cause?: unknown; details?: unknown },
  ) {
    super(kind, message, options);
    this.exitCode = EXIT_CODES[kind];
    this.details = options?.details;
  }
  /** Structured context (e.g. which members a defrag completed before aborting), printed with --output json. */
  readonly details: unknown;
}

/** Maps whatever etcd3/grpc threw onto a CtlError kind; the message is kept, the stack is not shown to users. */
export function toCtlError(err: unknown, what: string): CtlError {
  if (err instanceof CtlError) return err;
  const text = err instanceof Error ? err.message.replace(/^[A-Za-z]+Error: /, '') : String(err);
  // grpc-js appends "Last error: Error: ..." and an empty "Resolution note:" to a refused connection.
  const message = `${what}: ${text.replace(/\s*Resolution note:\s*$/, '').replace(/Last error: (Error: )?/, '')}`;
  return new CtlError(classify(err), message, { cause: err });
}

function classify(err: unknown): CtlErrorKind {
  if (
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdInvalidAuthTokenError ||
    err instanceof GRPCUnauthenticatedError
  ) {
    return 'AUTH';
  }
  if (err instanceof EtcdLeaseInvalidError || err instanceof GRPCNotFoundError) return 'NOT_FOUND';
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof ClientRuntimeError ||
    err instanceof ClientClosedError
  ) {
    return 'UNAVAILABLE';
  }
  const message = err instanceof Error ? err.message : String(err);
  // cockatiel's open circuit and grpc's connection failures do not always arrive as typed errors.
  if (/circuit|ECONNREFUSED|No connection established|deadline exceeded|UNAVAILABLE/i.test(message)) {
    return 'UNAVAILABLE';
  }
  if (/member not found|lease not found|not found/i.test(message)) return 'NOT_FOUND';
  return 'FAILED';
}
