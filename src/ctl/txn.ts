import type { Etcd3, ICompare, IRequestOp, IResponseOp } from 'etcd3';
import { hexToId } from './client.js';
import { CtlError, toCtlError } from './errors.js';
import { headerRevision, rangeBytes, toKeyValue, type KeyRange, type KeyValue } from './kv.js';

/** One comparison of a transaction; `value` is text for target "value", a number (or hex lease ID) otherwise. */
export interface TxnCompare {
  readonly key: string;
  readonly target: 'value' | 'version' | 'create' | 'mod' | 'lease';
  readonly result: '=' | '!=' | '<' | '>';
  readonly value: string | number;
}

/** One operation inside a transaction branch. */
export type TxnOp =
  | { readonly put: { readonly key: string; readonly value: string; readonly lease?: string } }
  | { readonly get: KeyRange }
  | { readonly del: KeyRange };

/** A transaction as `etcd-monitor ctl txn` reads it (JSON): if every compare holds run `success`, else `failure`. */
export interface TxnSpec {
  readonly compare: readonly TxnCompare[];
  readonly success: readonly TxnOp[];
  readonly failure: readonly TxnOp[];
}

export type TxnOpResult =
  | { readonly op: 'put'; readonly revision: number }
  | { readonly op: 'get'; readonly count: number; readonly kvs: readonly KeyValue[] }
  | { readonly op: 'del'; readonly deleted: number };

export interface TxnResult {
  readonly succeeded: boolean;
  readonly revision: number;
  readonly responses: readonly TxnOpResult[];
}

const TARGETS = { version: 0, create: 1, mod: 2, value: 3, lease: 4 } as const;
const RESULTS = { '=': 0, '>': 1, '<': 2, '!=': 3 } as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(obj: Record<string, unknown>, allowed: string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new CtlError('USAGE', `${where}: unknown field(s) ${extra.join(', ')}`);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw new CtlError('USAGE', `${where} must be a string`);
  return v;
}

function parseRange(v: unknown, where: string): KeyRange {
  if (!isRecord(v)) throw new CtlError('USAGE', `${where} must be an object`);
  onlyKeys(v, ['key', 'rangeEnd', 'prefix', 'fromKey'], where);
  return {
    key: str(v.key, `${where}.key`),
    ...(v.rangeEnd !== undefined ? { rangeEnd: str(v.rangeEnd, `${where}.rangeEnd`) } : {}),
    ...(v.prefix !== undefined ? { prefix: v.prefix === true } : {}),
    ...(v.fromKey !== undefined ? { fromKey: v.fromKey === true } : {}),
  };
}

function parseOp(v: unknown, where: string): TxnOp {
  if (!isRecord(v) || Object.keys(v).length !== 1) {
    throw new CtlError('USAGE', `${where} must be an object with exactly one of put, get, del`);
  }
  if (v.put !== undefined) {
    const p = v.put;
    if (!isRecord(p)) throw new CtlError('USAGE', `${where}.put must be an object`);
    onlyKeys(p, ['key', 'value', 'lease'], `${where}.put`);
    return {
      put: {
        key: str(p.key, `${where}.put.key`),
        value: str(p.value, `${where}.put.value`),
        ...(p.lease !== undefined ? { lease: str(p.lease, `${where}.put.lease`) } : {}),
      },
    };
  }
  if (v.get !== undefined) return { get: parseRange(v.get, `${where}.get`) };
  if (v.del !== undefined) return { del: parseRange(v.del, `${where}.del`) };
  throw new CtlError('USAGE', `${where} must be one of put, get, del`);
}

/** Validates an untrusted transaction document (unknown fields and wrong types are usage errors). */
export function parseTxnSpec(doc: unknown): TxnSpec {
  if (!isRecord(doc)) throw new CtlError('USAGE', 'transaction must be a JSON object');
  onlyKeys(doc, ['compare', 'success', 'failure'], 'transaction');
  const list = (v: unknown, name: string): unknown[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw new CtlError('USAGE', `${name} must be an array`);
    return v;
  };
  const compare = list(doc.compare, 'compare').map((c, i): TxnCompare => {
    const where = `compare[${i}]`;
    if (!isRecord(c)) throw new CtlError('USAGE', `${where} must be an object`);
    onlyKeys(c, ['key', 'target', 'result', 'value'], where);
    const target = str(c.target, `${where}.target`);
    const result = str(c.result, `${where}.result`);
    if (!(target in TARGETS))
      throw new CtlError('USAGE', `${where}.target must be one of ${Object.keys(TARGETS).join(', ')}`);
    if (!(result in RESULTS))
      throw new CtlError('USAGE', `${where}.result must be one of ${Object.keys(RESULTS).join(' ')}`);
    if (typeof c.value !== 'string' && typeof c.value !== 'number') {
      throw new CtlError('USAGE', `${where}.value must be a string or number`);
    }
    return {
      key: str(c.key, `${where}.key`),
      target: target as TxnCompare['target'],
      result: result as TxnCompare['result'],
      value: c.value,
    };
  });
  return {
    compare,
    success: list(doc.success, 'success').map((op, i) => parseOp(op, `success[${i}]`)),
    failure: list(doc.failure, 'failure').map((op, i) => parseOp(op, `failure[${i}]`)),
  };
}

function toCompare(c: TxnCompare): ICompare {
  const base: ICompare = {
    key: Buffer.from(c.key, 'utf8'),
    target: TARGETS[c.target],
    result: RESULTS[c.result],
  };
  const num = (): number => {
    const n = Number(c.value);
    if (!Number.isInteger(n) || n < 0)
      throw new CtlError('USAGE', `compare on ${c.target} of ${c.key} needs a whole number`);
    return n;
  };
  switch (c.target) {
    case 'value':
      return { ...base, value: Buffer.from(String(c.value), 'utf8') };
    case 'version':
      return { ...base, version: num() };
    case 'create':
      return { ...base, create_revision: num() };
    case 'mod':
      return { ...base, mod_revision: num() };
    case 'lease':
      return { ...base, lease: c.value === 0 || c.value === '0' ? 0 : hexToId(String(c.value)) };
  }
}

function toRequestOp(op: TxnOp): IRequestOp {
  if ('put' in op) {
    return {
      request_put: {
        key: Buffer.from(op.put.key, 'utf8'),
        value: Buffer.from(op.put.value, 'utf8'),
        lease: op.put.lease ? hexToId(op.put.lease) : 0,
      },
    };
  }
  if ('get' in op) return { request_range: rangeBytes(op.get) };
  return { request_delete_range: rangeBytes(op.del) };
}

function toOpResult(r: IResponseOp): TxnOpResult {
  if (r.response_put) return { op: 'put', revision: headerRevision(r.response_put.header) };
  if (r.response_range) {
    return { op: 'get', count: Number(r.response_range.count), kvs: r.response_range.kvs.map(toKeyValue) };
  }
  return { op: 'del', deleted: Number(r.response_delete_range?.deleted ?? 0) };
}

/** Runs a transaction (etcdctl txn); a false `succeeded` is a normal answer, not an error. */
export async function txn(client: Etcd3, spec: TxnSpec): Promise<TxnResult> {
  try {
    const res = await client.kv.txn({
      compare: spec.compare.map(toCompare),
      success: spec.success.map(toRequestOp),
      failure: spec.failure.map(toRequestOp),
    });
    return {
      succeeded: res.succeeded,
      revision: headerRevision(res.header),
      responses: res.responses.map(toOpResult),
    };
  } catch (err) {
    throw err instanceof CtlError ? err : toCtlError(err, 'txn');
  }
}

export interface CasResult {
  readonly succeeded: boolean;
  readonly revision: number;
  /** The key as it was when the compare failed (absent if the key did not exist). */
  readonly current?: KeyValue;
}

/**
 * Compare-and-swap: writes `value` only if the key currently holds `expected`, or does not exist when
 * `expected` is null. On failure returns the current value so the caller can retry.
 */
export async function compareAndSwap(
  client: Etcd3,
  key: string,
  expected: string | null,
  value: string,
): Promise<CasResult> {
  const compare: TxnCompare =
    expected === null
      ? { key, target: 'create', result: '=', value: 0 }
      : { key, target: 'value', result: '=', value: expected };
  const res = await txn(client, {
    compare: [compare],
    success: [{ put: { key, value } }],
    failure: [{ get: { key } }],
  });
  if (res.succeeded) return { succeeded: true, revision: res.revision };
  const read = res.responses[0];
  const current = read && read.op === 'get' ? read.kvs[0] : undefined;
  return { succeeded: false, revision: res.revision, ...(current ? { current } : {}) };
}
