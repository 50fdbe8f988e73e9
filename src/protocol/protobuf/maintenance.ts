/**
 * etcdserverpb.Maintenance messages (field numbers from etcd's api/etcdserverpb/rpc.proto): Status,
 * Alarm (GET) and HashKV, the reads the collectors make.
 */
import { decodeHeader, EMPTY_MESSAGE, type Loose } from './header.js';
import { BYTES, Reader, VARINT, varintField } from './wire.js';

export const MAINTENANCE_STATUS = '/etcdserverpb.Maintenance/Status';
export const MAINTENANCE_ALARM = '/etcdserverpb.Maintenance/Alarm';
export const MAINTENANCE_HASH_KV = '/etcdserverpb.Maintenance/HashKV';

/** StatusRequest has no fields. */
export const STATUS_REQUEST = EMPTY_MESSAGE;
/** AlarmRequest{action: GET}: every field at its default (GET = 0), so the message is empty. */
export const ALARM_GET_REQUEST = EMPTY_MESSAGE;

/** StatusResponse. */
export function decodeStatusResponse(bytes: Uint8Array): Loose {
  const r = new Reader(bytes);
  const out: Loose = { errors: [] as string[] };
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) out['header'] = decodeHeader(r.nested());
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

/** AlarmResponse: header 1, alarms 2 (AlarmMember: memberID 1, alarm 2 as its enum number). */
export function decodeAlarmResponse(bytes: Uint8Array): Loose {
  const r = new Reader(bytes);
  const alarms: Loose[] = [];
  const out: Loose = { alarms };
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) out['header'] = decodeHeader(r.nested());
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

/** HashKVRequest: revision 1 (int64; 0 = the member's current revision). */
export function encodeHashKvRequest(revision: number): Buffer {
  return varintField(1, revision);
}

/** HashKVResponse: header 1, hash 2 (uint32), compact_revision 3 (int64; -1 while never compacted). */
export interface HashKvResponse {
  readonly revision: number;
  readonly hash: number;
  readonly compactRevision: number;
}

export function decodeHashKvResponse(bytes: Uint8Array): HashKvResponse {
  const r = new Reader(bytes);
  let revision = 0;
  let hash = 0;
  let compactRevision = 0;
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) revision = Number(decodeHeader(r.nested())['revision'] ?? 0);
    else if (field === 2 && type === VARINT) hash = r.uint();
    else if (field === 3 && type === VARINT) compactRevision = r.int64();
    else r.skip(type);
  }
  return { revision, hash, compactRevision };
}
