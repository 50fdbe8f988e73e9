import type { Etcd3, ILeaseKeepAliveResponse } from 'etcd3';
import { hexToId, idToHex } from './client.js';
import { CtlError, toCtlError } from './errors.js';
import { headerRevision, rangeBytes, toKeyValue, type KeyRange, type KeyValue } from './kv.js';

export interface LeaseInfo {
  /** Lease ID in hex, as etcdctl prints it. */
  readonly id: string;
  /** Seconds left. */
  readonly ttl: number;
  readonly grantedTtl?: number;
  readonly keys?: readonly string[];
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
    ...(opts.keys ? { keys: (res.keys ?? []).map((k) => k.toString('utf8')) } : {}),
  };
}

/**
 * Renews a lease until `signal` aborts (or once when `once`), calling `onRenew` after each renewal; renews at a third
 * of the TTL like etcd's own client. A lease that is gone is NOT_FOUND.
 */
export async function leaseKeepAlive(
  client: Etcd3,
  id: string,
  opts: { once?: boolean; signal?: AbortSignal; onRenew?: (lease: LeaseInfo) => void } = {},
): Promise<LeaseInfo> {
  const decimalId = hexToId(id);
  let stream;
  try {
    stream = await client.leaseClient.leaseKeepAlive();
  } catch (err) {
    throw toCtlError(err, `lease keep-alive ${id}`);
  }
  return new Promise<LeaseInfo>((resolve, reject) => {
    let last: LeaseInfo | undefined;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      stream.end();
      if (err) reject(err);
      else if (last) resolve(last);
      else reject(new CtlError('UNAVAILABLE', `lease keep-alive ${id}: stream ended before any renewal`));
    };
    const onAbort = (): void => finish();
    stream.on('data', (res: ILeaseKeepAliveResponse) => {
      if (finished) return;
      const ttl = Number(res.TTL);
      if (ttl <= 0) {
        finish(new CtlError('NOT_FOUND', `lease ${id} expired or was revoked`));
        return;
      }
      last = { id, ttl };
      opts.onRenew?.(last);
      if (opts.once) finish();
      clearTimeout(timer);
      if (!opts.once)
        timer = setTimeout(() => stream.write({ ID: decimalId }), Math.max(500, (ttl * 1000) / 3));
    });
    stream.on('error', (err: Error) => finish(toCtlError(err, `lease keep-alive ${id}`)));
    if (opts.signal?.aborted) {
      finish();
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
  if (opts.signal?.aborted) return events;
  let watcher;
  try {
    watcher = await builder.create();
  } catch (err) {
    throw toCtlError(err, `watch ${range.key}`);
  }
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
