/**
 * One line for the operating-system errors a user can fix (a busy port, a path that cannot be created or
 * written), classified by Node's `code` and `syscall`, never by message text. Anything else is a bug and
 * keeps its stack trace.
 */

/** Node's system error: `code` (errno name) and `syscall`, plus `path` or `address`/`port` where it has them. */
interface SystemErrorLike {
  readonly code: string;
  readonly syscall?: string;
  readonly path?: string;
  readonly dest?: string;
  readonly address?: string;
  readonly port?: number;
}

/** Why each errno happens, in the words of what the user can change. */
const PATH_CODES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'a parent directory does not exist',
  ENOTDIR: 'a component of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'it exists and is not a directory',
};

const LISTEN_CODES: Record<string, string> = {
  EADDRINUSE: 'address already in use (another process listens there; pick another port)',
  EADDRNOTAVAIL: 'no interface of this host has that address',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

function isSystemError(err: unknown): err is SystemErrorLike {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'string' &&
    typeof (err as { syscall?: unknown }).syscall === 'string'
  );
}

/** The error's `.cause` chain, outermost first (a wrapped system error still counts). */
function* causes(err: unknown): Generator<unknown> {
  for (let e = err, depth = 0; e !== undefined && depth < 8; depth++) {
    yield e;
    e = e instanceof Error ? e.cause : undefined;
  }
}

/**
 * `cannot listen on 127.0.0.1:8080: address already in use (EADDRINUSE) …` or
 * `cannot create /data/x: permission denied (EACCES)`; undefined when the error is none of these.
 */
export function describeSystemError(err: unknown): string | undefined {
  for (const e of causes(err)) {
    if (!isSystemError(e)) continue;
    if (e.syscall === 'listen' || e.syscall === 'bind') {
      const why = LISTEN_CODES[e.code] ?? 'failed';
      const where = e.address === undefined ? `port ${e.port}` : `${hostPort(e.address, e.port)}`;
      return `cannot listen on ${where}: ${why} (${e.code})`;
    }
    const reason = PATH_CODES[e.code];
    if (reason !== undefined && e.path !== undefined) {
      return `cannot ${verb(e.syscall)} ${e.path}: ${reason} (${e.code})`;
    }
  }
  return undefined;
}

function hostPort(address: string, port: number | undefined): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}

/** The failed system call as the action the user asked for. */
function verb(syscall: string | undefined): string {
  switch (syscall) {
    case 'mkdir':
      return 'create directory';
    case 'write':
    case 'rename':
      return 'write';
    case 'scandir':
    case 'read':
      return 'read';
    default:
      return syscall ?? 'use';
  }
}
