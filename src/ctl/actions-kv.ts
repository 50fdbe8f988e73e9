import { readFile } from 'node:fs/promises';
import { CtlError } from './errors.js';
import {
  fields,
  headerFields,
  hexNum,
  jsonHeader,
  jsonKv,
  kvFields,
  num,
  simpleKv,
  type FieldValue,
} from './etcdctl-format.js';
import { type Table } from './format.js';
import type { KeyRange, KeyValue } from './kv.js';
import type { EtcdOperations } from './operations.js';
import { parseTxnSpec } from './txn.js';
import { b, n, s, type Action, type CtlIo, type Args } from './action-types.js';

function range(a: Args): KeyRange {
  return {
    key: String(a['key-name'] ?? ''),
    ...(a['range-end'] !== undefined ? { rangeEnd: String(a['range-end']) } : {}),
    prefix: b(a, 'prefix'),
    fromKey: b(a, 'from-key'),
  };
}

/** A lease ID as etcdctl's simple form prints it: %016x, zero-padded to 16 digits. */
const lease16 = (hex: string): string => hex.replace(/^0x/i, '').toLowerCase().padStart(16, '0');

/** etcdctl's fields form of a previous key-value: the kv fields with a "Prev" prefix. */
const prevFields = (kv: Parameters<typeof kvFields>[0]): [string, FieldValue][] =>
  kvFields(kv).map(([k, v]) => [`Prev${k}`, v]);

const kvTable = (kvs: readonly KeyValue[]): Table => ({
  headers: ['KEY', 'VALUE', 'CREATE_REV', 'MOD_REV', 'VERSION', 'LEASE'],
  rows: kvs.map((kv) => [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease]),
});

/**
 * One signal for "stop": the io's signal (SIGINT/SIGTERM, or a test's) or --timeout. Built from a plain
 * AbortController and setTimeout, not AbortSignal.any + AbortSignal.timeout: in Node 20 the timeout signal
 * is referenced only weakly by its timer and by the composite, so a garbage collection before it is due
 * drops it and --timeout never fires (reproduced on 20.20.2 with --expose-gc; this is why `watch --timeout 5`
 * ran on for 10 minutes). `dispose` clears the timer so a finished command does not wait for it.
 */
function untilSignal(io: CtlIo, timeout: unknown): { signal: AbortSignal; dispose: () => void } {
  const c = new AbortController();
  const stop = (): void => c.abort();
  const timer = timeout === undefined ? undefined : setTimeout(stop, Number(timeout) * 1000);
  if (io.signal?.aborted) c.abort();
  io.signal?.addEventListener('abort', stop, { once: true });
  return {
    signal: c.signal,
    dispose: () => {
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', stop);
    },
  };
}

/** --timeout ran out before the stream was established: the command did nothing, so it failed. */
function notConnected(what: string, ops: EtcdOperations, timeout: unknown): CtlError {
  return new CtlError(
    'UNAVAILABLE',
    `${what}: no answer from ${ops.connection.endpoints.join(',')} within --timeout ${String(timeout)}s`,
  );
}

/** get, put, del, txn, cas, compact, watch and the lease subcommands. */
export const kvActions: Record<string, Action> = {
  async get(ops, a) {
    const r = range(a);
    const res = await ops.get({
      ...r,
      ...(a.limit !== undefined ? { limit: n(a, 'limit') } : {}),
      ...(a.rev !== undefined ? { revision: n(a, 'rev') } : {}),
      serializable: b(a, 'serializable'),
      keysOnly: b(a, 'keys-only'),
      countOnly: b(a, 'count-only'),
    });
    const single = r.rangeEnd === undefined && !r.prefix && !r.fromKey;
    // A missing single key is a distinct answer scripts test for; an empty range is not.
    const exitCode = single && res.count === 0 ? 3 : 0;
    const table = b(a, 'count-only') ? `${res.count}\n` : kvTable(res.kvs);
    const raw = res.raw as NonNullable<typeof res.raw>;
    const valueOnly = b(a, 'print-value-only');
    return {
      data: { revision: res.revision, count: res.count, more: res.more, kvs: res.kvs },
      table,
      simple: b(a, 'count-only') ? `${res.count}\n` : raw.kvs.map((kv) => simpleKv(kv, valueOnly)).join(''),
      json: {
        header: jsonHeader(raw.header),
        kvs: raw.kvs.length > 0 ? raw.kvs.map(jsonKv) : undefined,
        more: res.more || undefined,
        count: res.count > 0 ? num(res.count) : undefined,
      },
      fields: fields([
        ...headerFields(raw.header),
        ...raw.kvs.flatMap(kvFields),
        ['More', res.more],
        ['Count', num(res.count)],
      ]),
      exitCode,
    };
  },
  async put(ops, a) {
    const res = await ops.put(String(a['key-name']), String(a.value), {
      ...(a.lease !== undefined ? { lease: s(a, 'lease') } : {}),
      prevKv: b(a, 'prev-kv'),
    });
    const raw = res.raw as NonNullable<typeof res.raw>;
    return {
      data: { revision: res.revision, ...(res.prevKv ? { prevKv: res.prevKv } : {}) },
      table: `OK (revision ${res.revision})\n`,
      simple: `OK\n${raw.prevKv ? simpleKv(raw.prevKv) : ''}`,
      json: { header: jsonHeader(raw.header), prev_kv: raw.prevKv ? jsonKv(raw.prevKv) : undefined },
      fields: fields([...headerFields(raw.header), ...(raw.prevKv ? prevFields(raw.prevKv) : [])]),
    };
  },
  async del(ops, a) {
    const res = await ops.del(range(a), { prevKv: b(a, 'prev-kv') });
    const raw = res.raw as NonNullable<typeof res.raw>;
    return {
      data: { revision: res.revision, deleted: res.deleted, prevKvs: res.prevKvs },
      table: `${res.deleted}\n`,
      simple: `${res.deleted}\n${raw.prevKvs.map((kv) => simpleKv(kv)).join('')}`,
      json: {
        header: jsonHeader(raw.header),
        deleted: res.deleted > 0 ? num(res.deleted) : undefined,
        prev_kvs: raw.prevKvs.length > 0 ? raw.prevKvs.map(jsonKv) : undefined,
      },
      fields: fields([
        ...headerFields(raw.header),
        ['Deleted', num(res.deleted)],
        ...raw.prevKvs.flatMap(prevFields),
      ]),
    };
  },
  async txn(ops, a, io) {
    const file = s(a, 'file');
    let text: string;
    if (a.spec !== undefined) text = String(a.spec);
    else if (file && file !== '-') text = await readFile(file, 'utf8');
    else if (io.readStdin) text = await io.readStdin();
    else throw new CtlError('USAGE', 'txn needs --spec, --file or a JSON document on stdin');
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new CtlError('USAGE', `txn: not valid JSON: ${(err as Error).message}`);
    }
    const res = await ops.txn(parseTxnSpec(doc));
    return {
      data: res,
      table: `${res.succeeded ? 'SUCCESS' : 'FAILURE'} (revision ${res.revision})\n`,
      exitCode: res.succeeded ? 0 : 3,
    };
  },
  async cas(ops, a) {
    if ((a.expect === undefined) === !b(a, 'expect-absent')) {
      throw new CtlError('USAGE', 'cas needs exactly one of --expect VALUE and --expect-absent');
    }
    const res = await ops.compareAndSwap(
      String(a['key-name']),
      a.expect === undefined ? null : String(a.expect),
      String(a.value),
    );
    const text = res.succeeded
      ? `SWAPPED (revision ${res.revision})\n`
      : `COMPARE FAILED: current value ${res.current ? JSON.stringify(res.current.value) : '(absent)'}\n`;
    return { data: res, table: text, exitCode: res.succeeded ? 0 : 3 };
  },
  async compact(ops, a) {
    const res = await ops.compact(Number(a.revision), { physical: b(a, 'physical') });
    return { data: res, table: `compacted revision ${res.compactedTo}\n` };
  },
  async watch(ops, a, io) {
    const json = a.output === 'json';
    const stop = untilSignal(io, a.timeout);
    let ready = false;
    await ops
      .watch(range(a), {
        ...(a.rev !== undefined ? { startRevision: n(a, 'rev') } : {}),
        prevKv: b(a, 'prev-kv'),
        ...(a['max-events'] !== undefined ? { maxEvents: n(a, 'max-events') } : {}),
        signal: stop.signal,
        onReady: () => {
          ready = true;
          io.writeErr('watching\n');
        },
        onEvent: (e) =>
          io.write(
            json
              ? `${JSON.stringify(e)}\n`
              : `${e.type}\n${e.kv.key}\n${e.type === 'PUT' ? `${e.kv.value}\n` : ''}`,
          ),
      })
      .finally(stop.dispose);
    if (!ready && !io.signal?.aborted) throw notConnected(`watch ${String(a['key-name'])}`, ops, a.timeout);
    // Events were printed as they came.
    return {};
  },
  async 'lease-grant'(ops, a) {
    const res = await ops.leaseGrant(Number(a.ttl));
    return { data: res, table: `lease ${lease16(res.id)} granted with TTL(${res.ttl}s)\n` };
  },
  async 'lease-revoke'(ops, a) {
    const res = await ops.leaseRevoke(String(a.id));
    return { data: res, table: `lease ${lease16(res.id)} revoked\n` };
  },
  async 'lease-timetolive'(ops, a) {
    const res = await ops.leaseTimeToLive(String(a.id), { keys: b(a, 'keys') });
    const keys = res.keys ? `, attached keys(${res.keys.join(', ')})` : '';
    const { header, ...data } = res;
    const h = header as NonNullable<typeof header>;
    const text = `lease ${res.id} granted with TTL(${res.grantedTtl}s), remaining(${res.ttl}s)`;
    const etcdctlText = `lease ${lease16(res.id)} granted with TTL(${res.grantedTtl}s), remaining(${res.ttl}s)`;
    return {
      data,
      table: `${text}${keys}\n`,
      // etcdctl: `attached keys([a b])`, Go's %v of a string slice.
      simple: `${etcdctlText}${res.keys ? `, attached keys([${res.keys.join(' ')}])` : ''}\n`,
      json: {
        ...jsonHeader(h),
        id: hexNum(res.id),
        ttl: num(res.ttl),
        'granted-ttl': num(res.grantedTtl ?? 0),
        keys: res.keys ? res.keys.map((k) => Buffer.from(k, 'utf8').toString('base64')) : null,
      },
      fields: fields([
        ...headerFields(h),
        ['ID', hexNum(res.id)],
        ['TTL', num(res.ttl)],
        ['GrantedTTL', num(res.grantedTtl ?? 0)],
        ...(res.keys ? res.keys.map((k): [string, FieldValue] => ['Key', k]) : []),
      ]),
    };
  },
  async 'lease-list'(ops) {
    const res = await ops.leaseList();
    return {
      data: { leases: res.ids },
      table: { headers: ['ID'], rows: res.ids.map((id) => [id]) },
      simple: `found ${res.ids.length} leases\n${res.ids.map((id) => `${lease16(id)}\n`).join('')}`,
      json: { ...jsonHeader(res.header), leases: res.ids.map((id) => ({ id: hexNum(id) })) },
    };
  },
  async 'lease-keep-alive'(ops, a, io) {
    const json = a.output === 'json';
    const stop = untilSignal(io, a.timeout);
    const last = await ops
      .leaseKeepAlive(String(a.id), {
        once: b(a, 'once'),
        signal: stop.signal,
        onRenew: (l) =>
          io.write(
            json ? `${JSON.stringify(l)}\n` : `lease ${lease16(l.id)} keepalived with TTL(${l.ttl})\n`,
          ),
      })
      .finally(stop.dispose);
    if (!last) {
      if (io.signal?.aborted) return {};
      throw notConnected(`lease keep-alive ${String(a.id)}`, ops, a.timeout);
    }
    return { exitCode: last.ttl > 0 ? 0 : 3 };
  },
};
