import type { Etcd3, IKeyValue, IRangeRequest, IResponseHeader } from 'etcd3';
import { CtlError, toCtlError } from './errors.js';
import { idToHex, hexToId } from './client.js';

/** A key and its metadata; values are shown as UTF-8 text. `lease` is hex, '0' when the key has none. */
export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: string;
}

/** Which keys an operation touches: one key, [key, rangeEnd), every key with the prefix `key`, or every key ≥ key. */
export interface KeyRange {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly prefix?: boolean;
  readonly fromKey?: boolean;
}

export interface GetOptions extends KeyRange {
  readonly limit?: number;
  readonly revision?: number;
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
}

/** A response header as etcd sends it (64-bit numbers as decimal strings), for etcdctl's `-w json|fields`. */
export interface RawHeader {
  readonly cluster_id: string;
  readonly member_id: string;
  readonly revision: string;
  readonly raft_term: string;
}

export interface GetResult {
  readonly revision: number;
  readonly count: number;
  readonly more: boolean;
  readonly kvs: readonly KeyValue[];
  /** The response as received (bytes, not text), for etcdctl's output formats. */
  readonly raw?: { readonly header: RawHeader; readonly kvs: readonly IKeyValue[] };
}

export interface PutResult {
  readonly revision: number;
  readonly prevKv?: KeyValue;
  readonly raw?: { readonly header: RawHeader; readonly prevKv?: IKeyValue };
}

export interface DeleteResult {
  readonly revision: number;
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
  readonly raw?: { readonly header: RawHeader; readonly prevKvs: readonly IKeyValue[] };
}

/** The header fields, strings as etcd3 decodes its 64-bit numbers. */
export function rawHeader(h: IResponseHeader | undefined): RawHeader {
  return {
    cluster_id: String(h?.cluster_id ?? '0'),
    member_id: String(h?.member_id ?? '0'),
    revision: String(h?.revision ?? '0'),
    raft_term: String(h?.raft_term ?? '0'),
  };
}

/** Converts etcd3's key-value (Buffers, decimal strings) into the printable shape. */
export function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString('utf8'),
    value: kv.value.toString('utf8'),
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
    version: Number(kv.version),
    lease: idToHex(kv.lease || '0'),
  };
}

/** The store revision in a response header. */
export function headerRevision(header: IResponseHeader | undefined): number {
  return Number(header?.revision ?? 0);
}

/** The exclusive end of the key range of every key starting with `prefix` (etcd's own rule). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff (or the prefix is empty): the range runs to the end of the keyspace.
  return Buffer.from([0]);
}

/** Turns a KeyRange into the key/range_end pair of the etcd protocol. */
export function rangeBytes(r: KeyRange): { key: Buffer; range_end?: Buffer } {
  const key = Buffer.from(r.key, 'utf8');
  const chosen = [r.rangeEnd !== undefined, Boolean(r.prefix), Boolean(r.fromKey)].filter(Boolean).length;
  if (chosen > 1) throw new CtlError('USAGE', 'give at most one of a range end, --prefix and --from-key');
  // etcdctl: an empty key with --prefix or --from-key means every key, sent as key "\0", range_end "\0"
  // (etcd rejects an empty key: "key is not provided").
  if (key.length === 0 && (r.prefix || r.fromKey))
    return { key: Buffer.from([0]), range_end: Buffer.from([0]) };
  if (r.prefix) return { key, range_end: prefixEnd(key) };
  if (r.fromKey) return { key, range_end: Buffer.from([0]) };
  if (r.rangeEnd !== undefined) return { key, range_end: Buffer.from(r.rangeEnd, 'utf8') };
  if (key.length === 0) throw new CtlError('USAGE', 'an empty key needs --prefix or --from-key');
  return { key };
}

/** Range read (etcdctl get). */
export async function get(client: Etcd3, opts: GetOptions): Promise<GetResult> {
  const req: IRangeRequest = {
    ...rangeBytes(opts),
    limit: opts.limit ?? 0,
    revision: opts.revision ?? 0,
    serializable: opts.serializable ?? false,
    keys_only: opts.keysOnly ?? false,
    count_only: opts.countOnly ?? false,
  };
  try {
    const res = await client.kv.range(req);
    return {
      revision: headerRevision(res.header),
      count: Number(res.count),
      more: res.more,
      kvs: res.kvs.map(toKeyValue),
      raw: { header: rawHeader(res.header), kvs: res.kvs },
    };
  } catch (err) {
    throw toCtlError(err, `get ${opts.key}`);
  }
}

/** Writes one key (etcdctl put); `lease` is a hex lease ID. */
export async function put(
  client: Etcd3,
  key: string,
  value: string,
  opts: { lease?: string; prevKv?: boolean } = {},
): Promise<PutResult> {
  if (key.length === 0) throw new CtlError('USAGE', 'put needs a non-empty key');
  try {
    const res = await client.kv.put({
      key: Buffer.from(key, 'utf8'),
      value: Buffer.from(value, 'utf8'),
      lease: opts.lease ? hexToId(opts.lease) : 0,
      prev_kv: opts.prevKv ?? false,
    });
    const prev = (res as { prev_kv?: IKeyValue }).prev_kv;
    return {
      revision: headerRevision(res.header),
      ...(prev ? { prevKv: toKeyValue(prev) } : {}),
      raw: { header: rawHeader(res.header), ...(prev ? { prevKv: prev } : {}) },
    };
  } catch (err) {
    throw toCtlError(err, `put ${key}`);
  }
}

/** Deletes one key or a range (etcdctl del). */
export async function del(
  client: Etcd3,
  range: KeyRange,
  opts: { prevKv?: boolean } = {},
): Promise<DeleteResult> {
  try {
    const res = await client.kv.deleteRange({ ...rangeBytes(range), prev_kv: opts.prevKv ?? false });
    return {
      revision: headerRevision(res.header),
      deleted: Number(res.deleted),
      prevKvs: (res.prev_kvs ?? []).map(toKeyValue),
      raw: { header: rawHeader(res.header), prevKvs: res.prev_kvs ?? [] },
    };
  } catch (err) {
    throw toCtlError(err, `del ${range.key}`);
  }
}

/** Compacts the keyspace history up to `revision` (etcdctl compact); `physical` waits until the backend has applied it. */
export async function compact(
  client: Etcd3,
  revision: number,
  opts: { physical?: boolean } = {},
): Promise<{ revision: number; compactedTo: number }> {
  if (!Number.isInteger(revision) || revision <= 0)
    throw new CtlError('USAGE', 'compact needs a revision > 0');
  try {
    const res = await client.kv.compact({ revision, physical: opts.physical ?? false });
    return { revision: headerRevision(res.header), compactedTo: revision };
  } catch (err) {
    throw toCtlError(err, `compact ${revision}`);
  }
}
