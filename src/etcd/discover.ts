import { MonitorError, describeError } from '../util/errors.js';
import { MemberClient, type MemberClientOptions } from './member-client.js';
import type { TlsMaterial } from './tls-material.js';
import type { MemberListEntry } from './types.js';

// The configured endpoints are seeds; the member list defines the cluster, and every member is reached
// through its own advertised client URLs with the same TLS and auth (as `etcdctl --cluster` does).
// Used by `check` and the benchmark; the exporter's collector follows the list round by round itself.

/** One member of the cluster as the member list names it (ID in lower-case hex, as etcdctl prints it). */
export type DiscoveredMember = MemberListEntry;

export interface Discovery {
  readonly members: readonly DiscoveredMember[];
  /** The seed whose member list this is. */
  readonly answeredBy: string;
  /** Seeds that did not answer, with why (a seed behind a dead load balancer, a stopped member). */
  readonly seedErrors: readonly { readonly endpoint: string; readonly error: string }[];
}

export interface DiscoverOptions {
  readonly tls?: TlsMaterial;
  readonly auth?: { readonly username: string; readonly password: string };
  readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/** No seed answered MemberList; `seedErrors` says what each one did. */
export class DiscoveryError extends MonitorError {
  constructor(readonly seedErrors: Discovery['seedErrors']) {
    super(
      'DISCOVERY_NO_SEED_ANSWERED',
      `no endpoint answered the member list: ${seedErrors.map((s) => s.error).join('; ')}`,
    );
  }
}

/** A client with the exporter's TLS and auth for one endpoint (a seed or a member's URL). */
export function memberClient(endpoint: string, o: DiscoverOptions): MemberClient {
  const options: MemberClientOptions = {
    dialTimeoutMs: o.dialTimeoutMs,
    requestTimeoutMs: o.requestTimeoutMs,
    ...(o.auth ? { auth: o.auth } : {}),
  };
  return new MemberClient(endpoint, o.tls, options);
}

/**
 * Asks every seed for the member list at once and believes the first seed, in the configured order,
 * that answered: deterministic, and one dead seed costs at most one request timeout.
 */
export async function discoverMembers(seeds: readonly string[], o: DiscoverOptions): Promise<Discovery> {
  const answers = await Promise.allSettled(
    seeds.map(async (seed) => {
      const client = memberClient(seed, o);
      try {
        return await client.memberList();
      } finally {
        client.close();
      }
    }),
  );
  const seedErrors: { endpoint: string; error: string }[] = [];
  let found: Discovery['members'] | undefined;
  let answeredBy = '';
  answers.forEach((a, i) => {
    if (a.status === 'rejected') seedErrors.push({ endpoint: seeds[i]!, error: describeError(a.reason) });
    else if (!found) {
      found = a.value;
      answeredBy = seeds[i]!;
    }
  });
  if (!found) throw new DiscoveryError(seedErrors);
  return { members: found, answeredBy, seedErrors };
}

/** A member a benchmark can load, at the client URL it would use. */
export interface BenchMember {
  readonly name: string;
  readonly id: string;
  readonly endpoint: string;
}

/**
 * The members that can serve as benchmark endpoints: voting members only (etcd 3.4 refuses writes and
 * linearizable reads on a learner, "rpc not supported for learner") and only members that advertise a
 * URL. The first advertised URL, so each member gets the same share of connections.
 */
export function benchMembers(d: Discovery): BenchMember[] {
  return d.members
    .filter((m) => !m.isLearner && m.clientUrls.length > 0)
    .map((m) => ({ name: m.name, id: m.id, endpoint: m.clientUrls[0]! }));
}
