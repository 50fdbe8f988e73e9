import type { Etcd3, ILeaseKeepAliveResponse } from 'etcd3';
import { hexToId, idToHex } from './client.js';
import { CtlError, toCtlError } from './errors.js';
import {
  headerRevision,
  rangeBytes,
  rawHeader,
  toKeyValue,
  type KeyRange,
  type KeyValue,
  type RawHeader,
} from './kv.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * Waits for `step` (opening a stream, registering a watch) unless `signal` aborts first (resolves undefined)
 * or `timeoutMs` passes (UNAVAILABLE). etcd3 retries a connection forever with backoff and never rejects a
 * pending watch or keep-alive stream, so without this bound an unreachable endpoint hangs the command.
 */
async function bounded<T>(
  step: () => Promise<T>,
  what: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<T | undefined> {
  if (signal?.aborted) return undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      step(),
      new Promise<undefined>((resolve) => {
        onAbort = () => resolve(undefined);
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new CtlError('UNAVAILABLE', `${what}: no answer from any endpoint within ${timeoutMs / 1000}s`),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

export interface LeaseInfo {
  /** Lease ID in hex, as etcdctl prints it. */
  readonly id: string;
  /** Seconds left. */
  readonly ttl: number;
  readonly grantedTtl?: number;
  readonly keys?: readonly string[];
  /** The response header, for etcdctl's `-w json|fields`. */
  readonly header?: RawHeader;
}

/** Every lease the cluster holds (etcdctl lease list), IDs in hex. */
export async function leaseList(client: Etcd3): Promise<{ header: RawHeader; ids: string[] }> {
  try {
    const res = await client.leaseClient.leaseLeases();
    return { header: rawHeader(res.header), ids: (res.leases ?? []).map((l) => idToHex(l.ID)) };
  } catch (err) {
    throw toCtlError(err, 'lease list');
  }
}

/** Grants a lease of `ttlSeconds` (etcdctl lease grant). */
export async function leaseGrant(client: Etcd3, ttlSeconds: number): Promise<LeaseInfo> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0)
    throw new CtlError('USAGE', 'lease TTL must be a whole number of seconds > 0');
  try {
    const res = await client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 });
    if (res.error) throw new CtlError('FAILED', `lease grant: ${res.error}`);
    return { id: idToHex(res.ID), ttl: Number(res.TTL) };
  } catch (err) {
    throw toCtlError(err, 'lease grant');
  }
}

/** Revokes a lease and deletes its keys (etcdctl lease revoke). */
export async function leaseRevoke(client: Etcd3, id: string): Promise<{ id: string; revision: number }> {
  try {
    const res = await client.leaseClient.leaseRevoke({ ID: hexToId(id) });
    return { id, revision: headerRevision(res.header) };
  } catch (err) {
    throw toCtlError(err, `lease revoke ${id}`);
  }
}

/** Remaining TTL of a lease (etcdctl lease timetolive); an expired or unknown lease is NOT_FOUND. */
export async function leaseTimeToLive(
  client: Etcd3,
  id: string,
  opts: { keys?: boolean } = {},
): Promise<LeaseInfo> {
  let res;
  try {
    res = await client.leaseClient.leaseTimeToLive({ ID: hexToId(id), keys: opts.keys ?? false });
  } catch (err) {
    throw toCtlError(err, `lease timetolive ${id}`);
  }
  // etcd answers TTL -1 instead of an error for a lease that does not exist (any more).
  if (Number(res.TTL) < 0) throw new CtlError('NOT_FOUND', `lease ${id} already expired or never existed`);
  return {
    id,
    ttl: Number(res.TTL),
    grantedTtl: Number(res.grantedTTL),
    header: rawHeader(res.header),
    ...(opts.keys ? { keys: (res.keys ?? []).map((k) => k.toString('utf8')) } : {}),
  };
}

export interface KeepAliveOptions {
  readonly once?: boolean;
  readonly signal?: AbortSignal;
  /** Deadline for opening the stream and for the first renewal (default 5 s). */
  readonly connectTimeoutMs?: number;
  readonly onRenew?: (lease: LeaseInfo) => void;
}

/**
 * Renews a lease until `signal` aborts (or once when `once`), calling `onRenew` after each renewal; renews at a third
 * of the TTL like etcd's own client. A lease that is gone is NOT_FOUND. Resolves with the last renewal,
 * undefined when the signal aborted before the first one.
 */
export async function leaseKeepAlive(
  client: Etcd3,
  id: string,
  opts: KeepAliveOptions = {},
): Promise<LeaseInfo | undefined> {
  const decimalId = hexToId(id);
  const what = `lease keep-alive ${id}`;
  const connectMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let stream;
  try {
    stream = await bounded(() => client.leaseClient.leaseKeepAlive(), what, connectMs, opts.signal);
  } catch (err) {
    throw toCtlError(err, what);
  }
  if (!stream) return undefined;
  const opened = stream;
  return new Promise<LeaseInfo | undefined>((resolve, reject) => {
    const stream = opened;
    let last: LeaseInfo | undefined;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    // The first renewal proves the lease exists and an endpoint answers; a listener that accepts the
    // connection and never answers would otherwise keep the command waiting forever.
    const firstAnswer = setTimeout(
      () => finish(new CtlError('UNAVAILABLE', `${what}: no answer within ${connectMs / 1000}s`)),
      connectMs,
    );
    const finish = (err?: unknown, aborted = false): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(firstAnswer);
      opts.signal?.removeEventListener('abort', onAbort);
      stream.end();
      if (err) reject(err);
      else if (last || aborted) resolve(last);
      else reject(new CtlError('UNAVAILABLE', `${what}: stream ended before any renewal`));
    };
    const onAbort = (): void => finish(undefined, true);
    stream.on('data', (res: ILeaseKeepAliveResponse) => {
      if (finished) return;
      const ttl = Number(res.TTL);
      if (ttl <= 0) {
        finish(new CtlError('NOT_FOUND', `lease ${id} expired or was revoked`));
        return;
      }
      clearTimeout(firstAnswer);
      last = { id, ttl };
      opts.onRenew?.(last);
      if (opts.once) finish();
      clearTimeout(timer);
      if (!opts.once)
        timer = setTimeout(() => stream.write({ ID: decimalId }), Math.max(500, (ttl * 1000) / 3));
    });
    stream.on('error', (err: Error) => finish(toCtlError(err, what)));
    if (opts.signal?.aborted) {
      finish(undefined, true);
      return;
    }
    opts.signal?.addEventListener('abort', onAbort);
    stream.write({ ID: decimalId });
  });
}

export interface WatchEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export interface WatchOptions {
  readonly startRevision?: number;
  readonly prevKv?: boolean;
  /** Stop after this many events. */
  readonly maxEvents?: number;
  readonly signal?: AbortSignal;
  /** Deadline for reaching an endpoint and registering the watch (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** Called once the watch is registered on the server, so callers can write without racing it. */
  readonly onReady?: () => void;
  readonly onEvent?: (event: WatchEvent) => void;
}

/** Watches a key or range (etcdctl watch) until `maxEvents` arrived or `signal` aborts; resolves with the events. */
export async function watch(client: Etcd3, range: KeyRange, opts: WatchOptions = {}): Promise<WatchEvent[]> {
  const { key, range_end } = rangeBytes(range);
  let builder = range_end ? client.watch().inRange({ start: key, end: range_end }) : client.watch().key(key);
  if (opts.startRevision !== undefined) builder = builder.startRevision(String(opts.startRevision));
  if (opts.prevKv) builder = builder.withPreviousKV();
  const events: WatchEvent[] = [];
  const what = `watch ${range.key}`;
  const connectMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let created;
  try {
    // A serializable count answers from the member itself: it gives a refused connection or a TLS/auth
    // failure its own error, which a pending watch (retried forever by etcd3) never reports.
    const probe = await bounded(
      () => client.kv.range({ ...rangeBytes(range), count_only: true, serializable: true }).then(() => true),
      what,
      connectMs,
      opts.signal,
    );
    created = probe ? await bounded(() => builder.create(), what, connectMs, opts.signal) : undefined;
  } catch (err) {
    throw toCtlError(err, what);
  }
  if (!created) return events;
  const watcher = created;
  return new Promise<WatchEvent[]>((resolve, reject) => {
    let finished = false;
    const done = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      opts.signal?.removeEventListener('abort', onAbort);
      void watcher.cancel().catch(() => undefined);
      if (err) reject(err);
      else resolve(events);
    };
    const onAbort = (): void => done();
    opts.signal?.addEventListener('abort', onAbort);
    watcher.on('data', (res) => {
      if (finished) return;
      for (const e of res.events) {
        const event: WatchEvent = {
          // proto-loader runs with enums: String, so the wire name arrives despite the typings' "Delete".
          type: String(e.type).toUpperCase() === 'DELETE' ? 'DELETE' : 'PUT',
          kv: toKeyValue(e.kv),
          ...(e.prev_kv ? { prevKv: toKeyValue(e.prev_kv) } : {}),
        };
        events.push(event);
        opts.onEvent?.(event);
        if (opts.maxEvents !== undefined && events.length >= opts.maxEvents) {
          done();
          return;
        }
      }
    });
    watcher.on('error', (err: Error) => done(toCtlError(err, `watch ${range.key}`)));
    opts.onReady?.();
  });
}
