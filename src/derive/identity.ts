import type { ClusterSnapshot, MemberSnapshot } from '../collect/snapshot.js';
import type { MemberListEntry, MemberStatus } from '../etcd/types.js';

/** What the exporter knows about who answers at an endpoint; kept across rounds so a down member keeps its name. */
export interface EndpointIdentity {
  readonly id: string;
  readonly name: string;
}

/** A configured endpoint joined with the member-list entry it serves. */
export interface ResolvedMember {
  readonly endpoint: string;
  readonly snapshot: MemberSnapshot;
  readonly id?: string;
  /** etcd member name, or host:port of the endpoint until the name is known. */
  readonly name: string;
  readonly listed?: MemberListEntry;
  /** Status from this round, only when the member answered. */
  readonly status?: MemberStatus;
}

/** The freshest member list any member answered with. */
export function latestMemberList(snapshot: ClusterSnapshot): readonly MemberListEntry[] | undefined {
  let best: { at: number; value: readonly MemberListEntry[] } | undefined = snapshot.memberList
    ? { at: snapshot.memberList.at, value: snapshot.memberList.members }
    : undefined;
  for (const member of snapshot.members) {
    const result = member.members;
    if (result?.ok && (!best || result.at > best.at)) best = { at: result.at, value: result.value };
  }
  return best?.value;
}

const normaliseUrl = (url: string) => url.replace(/\/+$/, '').toLowerCase();

/** Joins endpoints to member IDs and names via Status, then client URLs, then what was known before. */
export function resolveMembers(
  snapshot: ClusterSnapshot,
  memberList: readonly MemberListEntry[] | undefined,
  known: ReadonlyMap<string, EndpointIdentity>,
): ResolvedMember[] {
  return snapshot.members.map((member) => {
    const status = member.status?.ok ? member.status.value : undefined;
    const byUrl = memberList?.find((m) =>
      m.clientUrls.some((u) => normaliseUrl(u) === normaliseUrl(member.endpoint)),
    );
    const id = status?.memberId ?? byUrl?.id ?? known.get(member.endpoint)?.id;
    const listed = memberList?.find((m) => m.id === id) ?? byUrl;
    const name = listed?.name || known.get(member.endpoint)?.name || new URL(member.endpoint).host;
    return {
      endpoint: member.endpoint,
      snapshot: member,
      name,
      ...(id ? { id } : {}),
      ...(listed ? { listed } : {}),
      ...(status ? { status } : {}),
    };
  });
}
