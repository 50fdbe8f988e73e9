import type { ClusterConfig, MonitorConfig } from '../config/types.js';
import type { MemberHttpClient } from '../etcd/http-client.js';
import type { MemberClient } from '../etcd/member-client.js';
import type { AlarmEntry, MemberListEntry, MemberStatus } from '../etcd/types.js';
import { parsePromText } from '../protocol/prom-text/index.js';
import type { ParsedMetrics } from '../protocol/prom-text/types.js';

/**
 * The collection rounds, each on its own interval (Monitor.start): `metrics` is the slow, rich one,
 * `health` the fast one, `hashkv` the optional consistency check (off when its interval is 0).
 */
export type RoundName = 'metrics' | 'health' | 'hashkv';

/**
 * Which watched members a source asks in a round: every one, or one (ClusterCollector.oneMember: the
 * leader as its last status said, else members in turn) for a cluster-wide answer one member suffices for.
 */
export type FanOut = 'all' | 'one';

/** What one run of a source against one member is given. Built when the run starts. */
export interface SourceContext {
  readonly endpoint: string;
  readonly client: MemberClient;
  readonly http: MemberHttpClient;
  readonly config: MonitorConfig;
  readonly cluster: ClusterConfig;
  /** This member's status, when its latest Status call succeeded. */
  readonly status: MemberStatus | undefined;
  /** The same for every watched member whose latest Status call succeeded. */
  readonly statuses: readonly MemberStatus[];
}

/**
 * One per-member source: what it asks (`run`), in which rounds and of how many members. Its name is
 * the `collector` label of etcd_monitor_collector_* and the REST `collectors` key; the value `run`
 * answers becomes the member snapshot's field of that name (MemberSnapshot).
 */
export interface Source<N extends string = string, V = unknown> {
  readonly name: N;
  readonly rounds: Readonly<Partial<Record<RoundName, FanOut>>>;
  /** False leaves the source out of every round: its result stays absent, no series, no REST entry. */
  readonly enabled?: (config: MonitorConfig) => boolean;
  /** False skips the source for the whole round (nothing recorded), decided once from the statuses. */
  readonly ready?: (statuses: readonly MemberStatus[]) => boolean;
  readonly run: (ctx: SourceContext) => Promise<V>;
}

/** Identity function that keeps each entry's literal name and value type for the derived types below. */
function source<N extends string, V>(def: Source<N, V>): Source<N, V> {
  return def;
}

/**
 * Every per-member source, in the order REST, OpenAPI and /metrics list them. Adding a source is one
 * entry here; its value type, name and schedule follow from it. The collector runs each with its own
 * deadline and records success, duration and error code (ClusterCollector.run).
 */
export const SOURCES = [
  source({
    name: 'metrics',
    rounds: { metrics: 'all' },
    run: async ({ http, endpoint }): Promise<ParsedMetrics> =>
      parsePromText(await http.fetchMetricsText(endpoint)),
  }),
  // Both rounds: the health round's for leader and term, the metrics round's for the alarms each status
  // lists in its `errors`; two Statuses a round apart let the first view tell slow from stuck (Monitor.start).
  source({ name: 'status', rounds: { metrics: 'all', health: 'all' }, run: ({ client }) => client.status() }),
  // The member list from one member between health rounds (which ask all, so members that all moved
  // are noticed): membership changes only by an operator's hand, and each call costs etcd CPU on every
  // member every round.
  source({
    name: 'members',
    rounds: { metrics: 'one', health: 'all' },
    run: ({ client }): Promise<readonly MemberListEntry[]> => client.memberList(),
  }),
  // The alarm list from one member, in the health round only: etcd answers every AlarmList through a
  // raft proposal — a WAL write on every member (etcd_server_proposals_committed_total rises by one per
  // call) — so asking all members would add members × rounds writes to the cluster being watched, while
  // statuses already carry each member's alarms (etcd lists them in its `errors`).
  source({
    name: 'alarms',
    rounds: { health: 'one' },
    run: ({ client }): Promise<readonly AlarmEntry[]> => client.alarms(),
  }),
  source({ name: 'health', rounds: { health: 'all' }, run: ({ http, endpoint }) => http.health(endpoint) }),
  // A put and a linearizable get of a lease-bound key through each member; --no-probe turns it off.
  source({
    name: 'probe',
    rounds: { health: 'all' },
    enabled: (config) => config.probe.enabled,
    run: (ctx) => ctx.client.probe(probeKey(ctx), ctx.config.probe.leaseTtlSeconds),
  }),
  // HashKV of every member at one revision: the lowest current revision among members, so each has it
  // (a member that compacted past it answers with an error and is left out of the comparison).
  source({
    name: 'hashkv',
    rounds: { hashkv: 'all' },
    ready: (statuses) => statuses.length > 0,
    run: ({ client, statuses }) => client.hashKv(Math.min(...statuses.map((s) => s.revision))),
  }),
] as const;

type AnySource = (typeof SOURCES)[number];
export type CollectorName = AnySource['name'];
/** What the source named K answers for one member. */
export type SourceValue<K extends CollectorName> =
  Extract<AnySource, { readonly name: K }> extends Source<K, infer V> ? V : never;

/** Names of the per-member sources, in table order; each reports its own success and duration. */
export const COLLECTORS: readonly CollectorName[] = SOURCES.map((s) => s.name);

/** The sources a round runs with this configuration, in table order, with their fan-out. */
export function sourcesOf(
  round: RoundName,
  config: MonitorConfig,
): readonly { readonly source: Source<CollectorName>; readonly fanOut: FanOut }[] {
  return SOURCES.flatMap((s: Source<CollectorName>) => {
    const fanOut = s.rounds[round];
    return fanOut && (s.enabled?.(config) ?? true) ? [{ source: s, fanOut }] : [];
  });
}

/**
 * The probe's key: one per member (its ID once a status named it, else its address) under the
 * cluster's name, so members and clusters never write each other's key.
 */
export function probeKey(ctx: Pick<SourceContext, 'endpoint' | 'config' | 'cluster' | 'status'>): string {
  const id = ctx.status?.memberId ?? new URL(ctx.endpoint).host;
  return `${ctx.config.probe.prefix}${ctx.cluster.name}/${id}`;
}
