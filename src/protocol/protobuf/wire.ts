/**
 * Protobuf wire format (https://protobuf.dev/programming-guides/encoding/): the reader the etcd message
 * decoders share and the few writers the requests need. Every read is bounded by the message's end: a
 * length or varint running past it throws WireFormatError, never reads another message's bytes.
 */
import { MonitorError } from '../../util/errors.js';

export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

/** Thrown for bytes that are not the message expected. */
export class WireFormatError extends MonitorError {
  constructor(message: string) {
    super('PROTOBUF_INVALID', message);
  }
}

/** Reads fields of one message; nested messages get a reader of their own bytes. */
export class Reader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Field number and wire type of the next field. */
  tag(): [field: number, wireType: number] {
    const key = this.uint();
    return [Math.floor(key / 8), key % 8];
  }

  /** A varint as a Number (exact below 2^53: revisions, indexes, sizes, TTLs). */
  uint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** A varint as a decimal string, exact over the whole uint64 range (lease IDs, 64-bit counters). */
  uint64(): string {
    const start = this.pos;
    // Up to 7 bytes (49 bits) a Number is exact and far cheaper than BigInt.
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = this.buf[this.pos++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return String(result);
      scale *= 128;
    }
    this.pos = start;
    let big = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = this.buf[this.pos++] as number;
      big |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, big).toString();
      shift += 7n;
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** A signed int64 varint as a Number (negative values are 10-byte varints; exact below 2^53). */
  int64(): number {
    const start = this.pos;
    const n = this.uint();
    if (n < 2 ** 53) return n;
    this.pos = start;
    return Number(BigInt.asIntN(64, BigInt(this.uint64())));
  }

  /**
   * A uint64 varint as `0x` + lower-case hex, which `idToHex` passes through: IDs are what etcdctl
   * prints in hex, and building the hex from two 32-bit halves avoids BigInt (≈4 ms a round for the
   * ≈300 IDs of 30 members' answers).
   */
  id(): string {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new WireFormatError('truncated varint');
      const byte = this.buf[this.pos++] as number;
      const bits = byte & 0x7f;
      if (shift < 28) lo += bits * 2 ** shift;
      else if (shift === 28) {
        lo += (bits & 0x0f) * 2 ** 28;
        hi += bits >>> 4;
      } else if (shift < 63) hi += bits * 2 ** (shift - 32);
      else hi += (bits & 1) * 2 ** 31;
      if (byte < 0x80) {
        return hi > 0 ? `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}` : `0x${lo.toString(16)}`;
      }
    }
    throw new WireFormatError('varint longer than 10 bytes');
  }

  /** The bytes of a length-delimited field, as a reader. */
  nested(): Reader {
    const length = this.uint();
    const start = this.pos;
    if (length > this.end - start) throw new WireFormatError('truncated length-delimited field');
    this.pos += length;
    return new Reader(this.buf, start, this.pos);
  }

  string(): string {
    const r = this.nested();
    return Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, r.end - r.pos).toString('utf8');
  }

  /** A length-delimited field's bytes, copied (the response buffer is not kept alive by them). */
  bytes(): Buffer {
    const r = this.nested();
    return Buffer.from(r.buf.subarray(r.pos, r.end));
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.uint();
    else if (wireType === FIXED64) this.pos += 8;
    else if (wireType === BYTES) this.nested();
    else if (wireType === FIXED32) this.pos += 4;
    else throw new WireFormatError(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new WireFormatError('truncated field');
  }
}

/** Bytes needed for `n` as an unsigned varint. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `n` (a non-negative integer below 2^53) as a varint at `off`; returns the offset after it. */
export function writeVarint(dst: Uint8Array, off: number, n: number): number {
  while (n >= 128) {
    dst[off++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  dst[off++] = n;
  return off;
}

/** A varint of any uint64 (given as a bigint), for 64-bit IDs beyond 2^53. */
function bigVarint(n: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** Field `field` as a varint (omitted at 0, as proto3 does). `value` is a Number below 2^53 or a decimal string. */
export function varintField(field: number, value: number | string): Buffer {
  const big = typeof value === 'string' ? BigInt(value) : undefined;
  if (big === 0n || value === 0) return Buffer.alloc(0);
  const key = Buffer.alloc(varintLength(field * 8 + VARINT));
  writeVarint(key, 0, field * 8 + VARINT);
  if (big !== undefined) return Buffer.concat([key, bigVarint(big)]);
  const body = Buffer.alloc(varintLength(value as number));
  writeVarint(body, 0, value as number);
  return Buffer.concat([key, body]);
}

/** Field `field` as length-delimited bytes (a string is written as UTF-8). Empty values are omitted. */
export function bytesField(field: number, value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length === 0) return Buffer.alloc(0);
  const head = Buffer.alloc(varintLength(field * 8 + BYTES) + varintLength(bytes.length));
  writeVarint(head, writeVarint(head, 0, field * 8 + BYTES), bytes.length);
  return Buffer.concat([head, bytes]);
}

/** A bool field (proto3: omitted when false). */
export function boolField(field: number, value: boolean): Buffer {
  return value ? varintField(field, 1) : Buffer.alloc(0);
}
