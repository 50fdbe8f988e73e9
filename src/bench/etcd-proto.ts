// Hand-encoded protobuf for the two etcd calls on the benchmark's hot path (etcdserverpb rpc.proto:
// PutRequest{key=1, value=2}, RangeRequest{key=1, serializable=7}). Responses are not parsed: the
// benchmark only needs the grpc-status, and skipping the decode keeps client CPU per call low.

/** gRPC method paths of etcd's KV service. */
export const KV_PUT = '/etcdserverpb.KV/Put';
export const KV_RANGE = '/etcdserverpb.KV/Range';

/** Bytes needed for `n` as a protobuf/unsigned varint. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

function writeVarint(dst: Buffer, off: number, n: number): number {
  while (n >= 128) {
    dst[off++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  dst[off++] = n;
  return off;
}

/**
 * A request body with a fixed layout in which only the key bytes change: the template is copied and the
 * key suffix (after the fixed prefix) is written in place.
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
