/**
 * etcdserverpb.KV messages (field numbers from etcd's api/etcdserverpb/rpc.proto): PutRequest{key 1,
 * value 2, lease 3}, PutResponse{header 1}, RangeRequest{key 1, serializable 7}, RangeResponse{header 1,
 * kvs 2, count 4}, KeyValue{key 1, mod_revision 3, value 5, lease 6}. Two encoders: plain ones for the probe, and fixed-layout
 * templates for the load generator's hot path, where only the key bytes change between calls.
 */
import { decodeHeader } from './header.js';
import {
  boolField,
  BYTES,
  bytesField,
  Reader,
  VARINT,
  varintField,
  varintLength,
  writeVarint,
} from './wire.js';

/** gRPC method paths of etcd's KV service. */
export const KV_PUT = '/etcdserverpb.KV/Put';
export const KV_RANGE = '/etcdserverpb.KV/Range';

/** PutRequest; `lease` is the lease ID as a decimal string (0 or absent: no lease). */
export function encodePutRequest(
  key: string | Uint8Array,
  value: string | Uint8Array,
  lease?: string,
): Buffer {
  return Buffer.concat([
    bytesField(1, key),
    bytesField(2, value),
    lease ? varintField(3, lease) : Buffer.alloc(0),
  ]);
}

/** RangeRequest for one key; `serializable` false is a linearizable read (a quorum round trip). */
export function encodeRangeRequest(key: string | Uint8Array, serializable: boolean): Buffer {
  return Buffer.concat([bytesField(1, key), boolField(7, serializable)]);
}

/** One KeyValue of a RangeResponse. */
export interface KeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly modRevision: number;
  /** Lease ID as a decimal string, '0' when none. */
  readonly lease: string;
}

/** RangeResponse: the header's revision, the key-values and the count. */
export interface RangeResponse {
  readonly revision: number;
  readonly kvs: readonly KeyValue[];
  readonly count: number;
}

export function decodeRangeResponse(bytes: Uint8Array): RangeResponse {
  const r = new Reader(bytes);
  let revision = 0;
  let count = 0;
  const kvs: KeyValue[] = [];
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) revision = Number(decodeHeader(r.nested())['revision'] ?? 0);
    else if (field === 2 && type === BYTES) kvs.push(decodeKeyValue(r.nested()));
    else if (field === 4 && type === VARINT) count = r.uint();
    else r.skip(type);
  }
  return { revision, kvs, count };
}

/** PutResponse{header 1}: the revision the put was applied at. 0 when the header is missing. */
export function decodePutResponse(bytes: Uint8Array): { readonly revision: number } {
  const r = new Reader(bytes);
  let revision = 0;
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) revision = Number(decodeHeader(r.nested())['revision'] ?? 0);
    else r.skip(type);
  }
  return { revision };
}

function decodeKeyValue(r: Reader): KeyValue {
  let key: Buffer = Buffer.alloc(0);
  let value: Buffer = Buffer.alloc(0);
  let modRevision = 0;
  let lease = '0';
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) key = r.bytes();
    else if (field === 3 && type === VARINT) modRevision = r.int64();
    else if (field === 5 && type === BYTES) value = r.bytes();
    else if (field === 6 && type === VARINT) lease = r.uint64();
    else r.skip(type);
  }
  return { key, value, modRevision, lease };
}

/**
 * A request body with a fixed layout in which only the key bytes change: the template is copied and the
 * key suffix (after the fixed prefix) is written in place. Responses on that path are not parsed: the
 * load generator only needs the grpc-status, and skipping the decode keeps client CPU per call low.
 */
export interface BodyTemplate {
  readonly bytes: Buffer;
  /** Offset of the first key byte after the user prefix. */
  readonly keyOffset: number;
}

function keyField(prefix: Buffer, keySize: number): { head: Buffer; keyOffset: number } {
  const keyLen = prefix.length + keySize;
  const head = Buffer.alloc(1 + varintLength(keyLen) + keyLen);
  head[0] = 0x0a; // field 1 (key), wire type 2
  const at = writeVarint(head, 1, keyLen);
  prefix.copy(head, at);
  return { head, keyOffset: at + prefix.length };
}

/** PutRequest with `prefix + keySize` key bytes and the given value. */
export function putTemplate(prefix: Buffer, keySize: number, value: Buffer): BodyTemplate {
  const { head, keyOffset } = keyField(prefix, keySize);
  const valueHead = Buffer.alloc(1 + varintLength(value.length));
  valueHead[0] = 0x12; // field 2 (value), wire type 2
  writeVarint(valueHead, 1, value.length);
  return { bytes: Buffer.concat([head, valueHead, value]), keyOffset };
}

/** RangeRequest for one key; `serializable` sets field 7 (served by the member without a quorum read). */
export function rangeTemplate(prefix: Buffer, keySize: number, serializable: boolean): BodyTemplate {
  const { head, keyOffset } = keyField(prefix, keySize);
  return { bytes: serializable ? Buffer.concat([head, Buffer.from([0x38, 0x01])]) : head, keyOffset };
}

/**
 * Writes key number `n` the way etcd's benchmark tool and the Go reference loader do
 * (`binary.PutVarint` into a zeroed key-size buffer): zigzag varint, zero padded.
 */
export function writeKeyNumber(dst: Buffer, off: number, keySize: number, n: number): void {
  let z = n * 2; // zigzag of a non-negative number
  const end = off + keySize;
  while (z >= 128 && off < end) {
    dst[off++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  if (off < end) dst[off++] = z;
  while (off < end) dst[off++] = 0;
}

/** Largest key number whose zigzag varint fits in `keySize` bytes (so distinct numbers stay distinct keys). */
export function maxKeyNumber(keySize: number): number {
  if (keySize >= 8) return Number.MAX_SAFE_INTEGER;
  return Math.floor((2 ** (7 * keySize) - 1) / 2);
}

/** Key number `n` as bytes (for the etcd3 client path and for tests). */
export function keyBytes(prefix: Buffer, keySize: number, n: number): Buffer {
  const out = Buffer.alloc(prefix.length + keySize);
  prefix.copy(out, 0);
  writeKeyNumber(out, prefix.length, keySize, n);
  return out;
}
