/** etcdserverpb.Cluster messages (field numbers from etcd's api/etcdserverpb/rpc.proto): MemberList. */
import { decodeHeader, EMPTY_MESSAGE, type Loose } from './header.js';
import { BYTES, Reader, VARINT } from './wire.js';

export const CLUSTER_MEMBER_LIST = '/etcdserverpb.Cluster/MemberList';

/** MemberListRequest (3.4: no fields; `linearizable` 1 came in 3.5 and is left at false). */
export const MEMBER_LIST_REQUEST = EMPTY_MESSAGE;

/** MemberListResponse: header 1, members 2 (Member: ID 1, name 2, peerURLs 3, clientURLs 4, isLearner 5). */
export function decodeMemberListResponse(bytes: Uint8Array): Loose {
  const r = new Reader(bytes);
  const members: Loose[] = [];
  const out: Loose = { members };
  while (!r.done) {
    const [field, type] = r.tag();
    if (field === 1 && type === BYTES) out['header'] = decodeHeader(r.nested());
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
