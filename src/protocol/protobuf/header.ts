import { Reader, VARINT } from './wire.js';

/**
 * etcd's messages in the loose shape `src/etcd/normalise.ts` accepts from etcd3 and the JSON gateway
 * (64-bit counters as decimal strings, IDs as `0x` hex), so one normalisation serves all three.
 */
export type Loose = Record<string, unknown>;

/** ResponseHeader (etcdserverpb rpc.proto): cluster_id 1, member_id 2, revision 3, raft_term 4. */
export function decodeHeader(r: Reader): Loose {
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

/** An empty request message (StatusRequest, MemberListRequest in 3.4, AlarmRequest{action: GET}). */
export const EMPTY_MESSAGE = Buffer.alloc(0);
