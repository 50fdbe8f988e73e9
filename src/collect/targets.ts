import type { MemberListEntry } from '../etcd/types.js';
import { parseEndpoint } from '../util/endpoint.js';

/**
 * Which URL the exporter talks to for each member. The configured endpoints are seeds: a seed may be
 * one member, a load balancer or a DNS name in front of several. The member list names every member
 * and the client URLs it advertises, so — as `etcdctl --cluster` does — the cluster is what the list
 * says, never what the exporter happens to reach. A member that advertises no client URL (added, never
 * started) still counts as a voter in quorum but has no URL to ask.
 */
export interface Target {
  readonly endpoint: string;
  /** Member ID (hex) this endpoint belongs to, when it came from the member list. */
  readonly memberId?: string;
  readonly origin: 'seed' | 'member-list';
}

/** One member list answer and when it arrived. */
export interface ListAnswer {
  readonly at: number;
  readonly members: readonly MemberListEntry[];
  /** The answering member claimed leadership in its last status: its list is authoritative. */
  readonly fromLeader: boolean;
}

/**
 * `scheme://host:port` in lower case, the form `--endpoints` is normalised to (src/util/endpoint.ts);
 * undefined for what is no http(s) URL (a member may advertise unix:// client URLs).
 */
export function normaliseEndpoint(url: string): string | undefined {
  try {
    return parseEndpoint(url).url;
  } catch {
    return undefined;
  }
}

/**
 * The list to believe: the leader's newest answer — the committed membership — unless another member
 * answered more than `graceMs` after it (the leader's answer is then from an older round: a leader
 * since stepped down, or a list asked of another member while the leader was unknown). A member cut off
 * from the leader can still answer with a list from before a membership change, so within a round the
 * leader's word wins over a slightly newer one.
 */
export function pickMemberList(
  answers: readonly ListAnswer[],
  graceMs: number,
): readonly MemberListEntry[] | undefined {
  let newest: ListAnswer | undefined;
  let leader: ListAnswer | undefined;
  for (const answer of answers) {
    if (!newest || answer.at > newest.at) newest = answer;
    if (answer.fromLeader && (!leader || answer.at > leader.at)) leader = answer;
  }
  if (leader && newest && newest.at - leader.at <= graceMs) return leader.members;
  return newest?.members;
}

/**
 * The endpoints to watch next round.
 * - Without discovery, or before any member list is known: the seeds (a cluster nobody can reach is
 *   still reported, one assumed member per seed). Once discovered, targets are kept while no list
 *   arrives (every member down must not turn into "watching the load balancer" again).
 * - With a list: one endpoint per member that advertises a client URL. A URL that is also a seed wins
 *   (the user chose that spelling, e.g. the name its TLS certificate is issued for); else the current
 *   one is kept; a member whose current URL failed and that advertises others moves to the next one,
 *   so an unreachable first URL (an address on another network) does not hide a reachable second.
 * Seeds that are no member's URL (a load balancer) are not watched: they stay for finding the list.
 */
export function planTargets(
  seeds: readonly string[],
  current: readonly Target[],
  list: readonly MemberListEntry[] | undefined,
  failing: ReadonlySet<string>,
  discover: boolean,
): Target[] {
  const seedTargets = seeds.map((endpoint): Target => ({ endpoint, origin: 'seed' }));
  if (!discover) return seedTargets;
  if (!list) return current.length > 0 ? [...current] : seedTargets;
  const seedSet = new Set(seeds.map((s) => normaliseEndpoint(s) ?? s));
  const targets: Target[] = [];
  for (const member of list) {
    const urls = [
      ...new Set(
        member.clientUrls.flatMap((u) => (normaliseEndpoint(u) ? [normaliseEndpoint(u) as string] : [])),
      ),
    ];
    if (urls.length === 0) continue;
    const before = current.find((t) => t.memberId === member.id);
    let endpoint = urls.find((u) => seedSet.has(u)) ?? before?.endpoint;
    if (endpoint === undefined || !urls.includes(endpoint)) endpoint = urls[0] as string;
    else if (failing.has(endpoint) && urls.length > 1 && !seedSet.has(endpoint)) {
      endpoint = urls[(urls.indexOf(endpoint) + 1) % urls.length] as string;
    }
    targets.push({ endpoint, memberId: member.id, origin: 'member-list' });
  }
  return targets;
}

/** Members of the list that none of the watched endpoints belongs to (named for the start-up warning). */
export function unwatchedMembers(
  list: readonly MemberListEntry[],
  watched: readonly string[],
): MemberListEntry[] {
  const watchedSet = new Set(watched.map((w) => normaliseEndpoint(w) ?? w));
  return list.filter((m) => !m.clientUrls.some((u) => watchedSet.has(normaliseEndpoint(u) ?? u)));
}
