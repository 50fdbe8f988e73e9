import { readFileSync } from 'node:fs';
import { Etcd3, GRPCUnavailableError, type IOptions } from 'etcd3';
import type { TlsFiles } from '../config/types.js';
import { loadTlsMaterial } from '../etcd/tls-material.js';
import { CtlError } from './errors.js';

/** How to reach and authenticate to one etcd cluster. Secrets are given as file paths and read at connect time. */
export interface EtcdConnection {
  readonly endpoints: readonly string[];
  readonly tls?: TlsFiles;
  /** etcd user; the password comes from `passwordFile` (e.g. a Kubernetes secret mount) or, for library use, `password`. */
  readonly auth?: { readonly username: string; readonly passwordFile?: string; readonly password?: string };
  /** Deadline of a call that includes connecting (etcd3 has no separate dial timeout). Default 5 s. */
  readonly requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

// etcd3 retries "recoverable" errors (timeouts included, so a write could be applied twice) and opens a per-host
// circuit for 5 s after 3 failures, which would answer a health check from memory. Instead: no circuit, and only
// a connection that could not be made moves on to the next endpoint, once per host. Other UNAVAILABLE answers
// ("etcdserver: request timed out", leader changed) may follow an applied write, so like etcd's clientv3 for
// mutations they are not retried.
type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
const noSubscription = () => ({ dispose: () => undefined });

function notConnected(err: unknown): boolean {
  return (
    err instanceof GRPCUnavailableError &&
    /No connection established|ECONNREFUSED|EHOSTUNREACH/.test(err.message)
  );
}

function policy(attempts: number): Policy {
  return {
    _altReturn: undefined as never,
    onSuccess: noSubscription,
    onFailure: noSubscription,
    // async so that a synchronous throw (etcd3's markFailed relies on it) becomes a rejection.
    execute: async <T>(
      fn: (ctx: { signal: AbortSignal }) => T | PromiseLike<T>,
      signal?: AbortSignal,
    ): Promise<T> => {
      const ctx = { signal: signal ?? new AbortController().signal };
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(ctx);
        } catch (err) {
          if (!notConnected(err) || attempt >= attempts) throw err;
        }
      }
    },
  };
}

function readSecret(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    // The path is fine to show; the content never is.
    throw new CtlError(
      'USAGE',
      `cannot read ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** Password files made with `echo` end in a newline that is not part of the password. */
function readPassword(auth: NonNullable<EtcdConnection['auth']>): string {
  if (auth.password !== undefined) return auth.password;
  if (!auth.passwordFile) throw new CtlError('USAGE', `user ${auth.username} needs a password file`);
  return readSecret(auth.passwordFile, 'password')
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Builds etcd3 options for `hosts` (a subset of the connection's endpoints, e.g. one member for defrag). */
export function clientOptions(conn: EtcdConnection, hosts: readonly string[] = conn.endpoints): IOptions {
  if (hosts.length === 0) throw new CtlError('USAGE', 'no endpoints given');
  const timeoutMs = conn.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const options: IOptions = {
    hosts: [...hosts],
    // etcd3 walks its shuffled host list across the attempts of one call, so each retry reaches another host.
    faultHandling: { global: policy(hosts.length), host: () => policy(1) },
    // Streams (watch, keep-alive, snapshot) live longer than one request; they get deadlines per call.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
  };
  const tls = conn.tls;
  if (tls && (tls.caFile || tls.certFile || tls.keyFile)) {
    if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
      throw new CtlError('USAGE', 'a client certificate needs both --cert and --key');
    }
    const material = loadTlsMaterial(
      tls,
      undefined,
      (_, message, cause) => new CtlError('USAGE', message, { cause }),
    );
    options.credentials = {
      rootCertificate: material?.ca ?? (undefined as unknown as Buffer),
      ...(material?.key ? { privateKey: material.key } : {}),
      ...(material?.cert ? { certChain: material.cert } : {}),
    };
  }
  if (conn.auth) {
    options.auth = { username: conn.auth.username, password: readPassword(conn.auth) };
  }
  return options;
}

/** Opens an etcd3 client over `hosts`; the caller closes it. */
export function openClient(conn: EtcdConnection, hosts?: readonly string[]): Etcd3 {
  return new Etcd3(clientOptions(conn, hosts));
}

/** etcd3 returns 64-bit IDs as decimal strings; etcdctl and the exporter show them as lower-case hex. */
export function idToHex(id: string | number): string {
  return BigInt(id).toString(16);
}

/** Parses a member or lease ID as etcdctl prints it (hex, optional 0x) into the decimal string etcd3 sends. */
export function hexToId(hex: string): string {
  const clean = hex.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(clean)) throw new CtlError('USAGE', `"${hex}" is not a hexadecimal ID`);
  return BigInt(`0x${clean}`).toString(10);
}
