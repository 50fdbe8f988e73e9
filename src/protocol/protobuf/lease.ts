/** etcdserverpb.Lease messages (field numbers from etcd's api/etcdserverpb/rpc.proto): LeaseGrant. */
import { BYTES, Reader, VARINT, varintField } from './wire.js';

export const LEASE_GRANT = '/etcdserverpb.Lease/LeaseGrant';

/** LeaseGrantRequest: TTL 1 (int64 seconds), ID 2 (0: the server picks one). */
export function encodeLeaseGrantRequest(ttlSeconds: number): Buffer {
  return varintField(1, ttlSeconds);
}

/** LeaseGrantResponse: header 1, ID 2 (int64, as a decimal string: IDs use all 63 bits), TTL 3, error 4. */
export interface LeaseGrantResponse {
  readonly id: string;
  readonly ttl: number;
  readonly error: string;
}

export function decodeLeaseGrantResponse(bytes: Uint8Array): LeaseGrantResponse {
  const r = new Reader(bytes);
  let id = '0';
  let ttl = 0;
  let error = '';
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 2 && type === VARINT) id = r.uint64();
    else if (field === 3 && type === VARINT) ttl = r.int64();
    else if (field === 4 && type === BYTES) error = r.string();
    else r.skip(type);
  }
  return { id, ttl, error };
}
