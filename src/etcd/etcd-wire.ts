/**
 * The few etcd v3 messages the collectors read, in protobuf wire format (field numbers from etcd's
 * api/etcdserverpb/rpc.proto). Decoded into the loose shape `normalise.ts` accepts from etcd3 and the
 * JSON gateway (64-bit counters as decimal strings, IDs as `0x` hex), so one normalisation serves all three.
 */

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

/** Thrown for bytes that are not the message expected. */
export class WireFormatError extends Error {}

/** Reads fields of one message; nested messages get a reader of their own bytes. */
class Reader {
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

  /** A varint as a Number (exact below 2^53: revisions, indexes and sizes). */
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

  /** A varint as a decimal string, exact over the whole uint64 range (member and cluster IDs). */
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
    this.pos += length;
    if (this.pos > this.end) throw new WireFormatError('truncated length-delimited field');
    return new Reader(this.buf, start, this.pos);
  }

  string(): string {
    const r = this.nested();
    return Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, r.end - r.pos).toString('utf8');
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

type Loose = Record<string, unknown>;

/** ResponseHeader: cluster_id 1, member_id 2, revision 3, raft_term 4. */
function header(r: Reader): Loose {
  const out: Loose = {};
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === VARINT) out['cluster_id'] = r.id();
    else if (field === 2 && type === VARINT) out['member_id'] = r.id();
    else if (field === 3 && type === VARINT) out['revision'] = r.uint64();
    else if (field === 4 && type === VARINT) out['raft_term'] = r.uint64();
    else r.skip(type);
  }
  return out;
}

/** StatusResponse. */
export function decodeStatusResponse(bytes: Uint8Array): Loose {
  const r = new Reader(bytes);
  const out: Loose = { errors: [] as string[] };
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) out['header'] = header(r.nested());
    else if (field === 2 && type === BYTES) out['version'] = r.string();
    else if (field === 3 && type === VARINT) out['dbSize'] = r.uint64();
    else if (field === 4 && type === VARINT) out['leader'] = r.id();
    else if (field === 5 && type === VARINT) out['raftIndex'] = r.uint64();
    else if (field === 6 && type === VARINT) out['raftTerm'] = r.uint64();
    else if (field === 7 && type === VARINT) out['raftAppliedIndex'] = r.uint64();
    else if (field === 8 && type === BYTES) (out['errors'] as string[]).push(r.string());
    else if (field === 9 && type === VARINT) out['dbSizeInUse'] = r.uint64();
    else if (field === 10 && type === VARINT) out['isLearner'] = r.uint() !== 0;
    else r.skip(type);
  }
  return out;
}

/** MemberListResponse: header 1, members 2 (Member: ID 1, name 2, peerURLs 3, clientURLs 4, isLearner 5). */
export function decodeMemberListResponse(bytes: Uint8Array): Loose {
  const r = new Reader(bytes);
  const members: Loose[] = [];
  const out: Loose = { members };
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) out['header'] = header(r.nested());
    else if (field === 2 && type === BYTES) {
      const m = r.nested();
      const member: Loose = { peerURLs: [] as string[], clientURLs: [] as string[] };
      while (!m.done) {
        const [f, t] = m.tag();
        if (f === 1 && t === VARINT) member['ID'] = m.id();
        else if (f === 2 && t === BYTES) member['name'] = m.string();
        else if (f === 3 && t === BYTES) (member['peerURLs'] as string[]).push(m.string());
        else if (f === 4 && t === BYTES) (member['clientURLs'] as string[]).push(m.string());
        else if (f === 5 && t === VARINT) member['isLearner'] = m.uint() !== 0;
        else m.skip(t);
      }
      members.push(member);
    } else r.skip(type);
  }
  return out;
}

/** AlarmResponse: header 1, alarms 2 (AlarmMember: memberID 1, alarm 2 as its enum number). */
export function decodeAlarmResponse(bytes: Uint8Array): Loose {
  const r = new Reader(bytes);
  const alarms: Loose[] = [];
  const out: Loose = { alarms };
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) out['header'] = header(r.nested());
    else if (field === 2 && type === BYTES) {
      const a = r.nested();
      const alarm: Loose = { alarm: '0' };
      while (!a.done) {
        const [f, t] = a.tag();
        if (f === 1 && t === VARINT) alarm['memberID'] = a.id();
        else if (f === 2 && t === VARINT) alarm['alarm'] = String(a.uint());
        else a.skip(t);
      }
      alarms.push(alarm);
    } else r.skip(type);
  }
  return out;
}

/** AuthenticateResponse: header 1, token 2. */
export function decodeAuthenticateResponse(bytes: Uint8Array): { token: string } {
  const r = new Reader(bytes);
  let token = '';
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 2 && type === BYTES) token = r.string();
    else r.skip(type);
  }
  return { token };
}

/** AuthenticateRequest: name 1, password 2. */
export function encodeAuthenticateRequest(name: string, password: string): Buffer {
  return Buffer.concat([stringField(1, name), stringField(2, password)]);
}

/** AlarmRequest{action: GET}: every field at its default, so the message is empty. */
export const ALARM_GET_REQUEST = Buffer.alloc(0);
/** StatusRequest and MemberListRequest (3.4: no fields set) are empty too. */
export const EMPTY_REQUEST = Buffer.alloc(0);

function stringField(field: number, value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from(varint(field * 8 + BYTES)), Buffer.from(varint(bytes.length)), bytes]);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
