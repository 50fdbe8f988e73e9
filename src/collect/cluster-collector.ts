import type { ClusterConfig, MonitorConfig } from '../config/types.js';
import { MemberHttpClient } from '../etcd/http-client.js';
import {
  loadTlsMaterial,
  MemberClient,
  readPasswordFile,
  type MemberClientOptions,
  type TlsMaterial,
} from '../etcd/member-client.js';
import type { MemberListEntry } from '../etcd/types.js';
import type { ClusterSnapshot, CollectorName, CollectorResult, MemberSnapshot } from './snapshot.js';
import { sourcesOf, type RoundName } from './sources.js';
import { planTargets, pickMemberList, unwatchedMembers, type ListAnswer, type Target } from './targets.js';
import { timed } from './timed.js';

type MutableMember = { -readonly [K in keyof MemberSnapshot]: MemberSnapshot[K] };

/**
 * A hostile or broken member could answer with a list of thousands of members; each would cost a
 * client and a socket. etcd itself recommends at most 7 voting members (and caps learners at 1 by
 * default), so 64 is far above any real cluster.
 */
export const MAX_MEMBERS_PER_CLUSTER = 64;

/**
 * Collects from every member of one cluster. The configured endpoints are seeds: the member list says
 * which members exist and where they listen (see `planTargets`), unless discovery is off. Each member
 * and each source runs concurrently with its own deadline; results land in a per-endpoint record that
 * `snapshot()` copies out as plain data.
 */
export class ClusterCollector {
  private readonly http: MemberHttpClient;
  private readonly clients = new Map<string, MemberClient>();
  private readonly members = new Map<string, MutableMember>();
  private readonly hardLimitMs: number;
  private readonly clientOptions: MemberClientOptions;
  private readonly tls: TlsMaterial | undefined;
  private readonly seeds: readonly string[];
  private targets: Target[] = [];
  /** The member list believed last (leader's preferred), kept across rounds and target changes. */
  private list: ListAnswer | undefined;
  private bootstrapping: Promise<void> | undefined;
  /** No watched member answered the member list last health round: ask the seeds before the next. */
  private askSeeds = false;
  /** When the seeds last failed to give a member list (0: never). */
  private seedsFailedAt = 0;
  private lastResultAt = 0;
  private readonly turns = new Map<CollectorName, number>();
  /** Per round, the sources it runs with this configuration (fixed for the collector's life). */
  private readonly schedule: Readonly<Record<RoundName, ReturnType<typeof sourcesOf>>>;

  constructor(
    readonly cluster: ClusterConfig,
    private readonly config: MonitorConfig,
  ) {
    this.tls = loadTlsMaterial(cluster.tls);
    const timeouts = { dialTimeoutMs: config.dialTimeoutMs, requestTimeoutMs: config.requestTimeoutMs };
    this.http = new MemberHttpClient(this.tls, timeouts);
    const auth = cluster.auth
      ? { username: cluster.auth.username, password: readPasswordFile(cluster.auth.passwordFile) }
      : undefined;
    this.clientOptions = { ...timeouts, ...(auth ? { auth } : {}) };
    this.seeds = cluster.endpoints;
    this.applyTargets(planTargets(this.seeds, [], undefined, new Set(), false));
    this.hardLimitMs = config.requestTimeoutMs + Math.min(config.dialTimeoutMs, 2000) + 500;
    this.schedule = {
      metrics: sourcesOf('metrics', config),
      health: sourcesOf('health', config),
      hashkv: sourcesOf('hashkv', config),
    };
  }

  /** Endpoints watched now, in member-list order. */
  watchedEndpoints(): string[] {
    return this.targets.map((t) => t.endpoint);
  }

  /** Members of the last member list that no watched endpoint belongs to (only without discovery). */
  unwatched(): MemberListEntry[] {
    return this.list ? unwatchedMembers(this.list.members, this.watchedEndpoints()) : [];
  }

  /**
   * The slow, rich round: /metrics and status of every member, and the member list of one (the health
   * round asks all). Alarms come with each status (etcd lists them in its `errors`); the AlarmList call
   * itself is left to the health round. What runs is the `metrics` column of SOURCES.
   */
  async collectMetricsRound(): Promise<void> {
    await this.bootstrap();
    await this.runRound('metrics');
    this.reconcile();
  }

  /**
   * The fast round: /health, status (for leader and term), member list and the read/write probe of
   * every member, and the alarm list from one member: the `health` column of SOURCES.
   */
  async collectHealthRound(): Promise<void> {
    await this.bootstrap();
    await this.runRound('health');
    // Every member was asked for the list; if none answered, the members may all have moved (new
    // addresses after a restore): the seeds are asked again before the next round.
    this.askSeeds = ![...this.members.values()].some((m) => m.members?.ok);
    this.reconcile();
  }

  /** HashKV of every member at one revision (see the `hashkv` entry of SOURCES). */
  async collectHashRound(): Promise<void> {
    await this.runRound('hashkv');
  }

  /**
   * The one driver of every round: each source of the round (SOURCES, enabled ones only) runs against
   * every watched member, or against the one `oneMember` picks, all concurrently, each with its own
   * deadline; `run` records its outcome. The statuses sources read are taken once, as the round starts.
   */
  private async runRound(round: RoundName): Promise<void> {
    const statusOf = new Map(
      [...this.members].flatMap(([endpoint, m]) => (m.status?.ok ? [[endpoint, m.status.value]] : [])),
    );
    const statuses = [...statusOf.values()];
    const sources = this.schedule[round].filter(({ source }) => source.ready?.(statuses) ?? true);
    const picked = new Map(
      sources.map(({ source, fanOut }) => [
        source.name,
        fanOut === 'one' ? this.oneMember(source.name) : undefined,
      ]),
    );
    await Promise.all(
      [...this.clients].flatMap(([endpoint, client]) => {
        const ctx = { endpoint, client, http: this.http, config: this.config, cluster: this.cluster };
        return sources.flatMap(({ source }) => {
          const one = picked.get(source.name);
          if (one !== undefined && one !== endpoint) return [];
          return [
            this.run(endpoint, source.name, () =>
              source.run({ ...ctx, status: statusOf.get(endpoint), statuses }),
            ),
          ];
        });
      }),
    );
  }

  /**
   * The member a fan-out `one` source asks this round (why one answer is enough is given at each such
   * entry of SOURCES). The leader (as its last status said) answers without forwarding; if it is not
   * known or its last answer failed, members take turns, so a dead one is skipped next round.
   */
  private oneMember(collector: CollectorName): string {
    const endpoints = [...this.clients.keys()];
    const leader = endpoints.find((endpoint) => {
      const member = this.members.get(endpoint);
      return leads(member?.status) && member?.[collector]?.ok !== false;
    });
    if (leader !== undefined) return leader;
    const turn = ((this.turns.get(collector) ?? -1) + 1) % endpoints.length;
    this.turns.set(collector, turn);
    return endpoints[turn] as string;
  }

  /** Plain-data copy of the latest result of every collector for every member. */
  snapshot(): ClusterSnapshot {
    return {
      cluster: this.cluster.name,
      takenAt: this.lastResultAt || Date.now(),
      ...(this.cluster.expectedMembers ? { expectedMembers: this.cluster.expectedMembers } : {}),
      ...(this.list ? { memberList: { at: this.list.at, members: this.list.members } } : {}),
      members: [...this.members.values()].map((m) => ({ ...m })),
    };
  }

  /** Closes every connection of this cluster. */
  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
    await this.http.close();
  }

  /**
   * Until a member list is known (at start, or after every member stopped answering it), the seeds
   * are asked for one before the round, so the round already watches the members themselves: a
   * load-balancer address watched as if it were a member would count as one member of three and page
   * for quorum loss. Concurrent rounds share one bootstrap. Answers here are not recorded as a
   * member's collector result (the round asks again); they only choose the targets.
   */
  private bootstrap(): Promise<void> {
    if (!this.cluster.discoverMembers || (this.list && !this.askSeeds)) return Promise.resolve();
    // Seeds that just failed to answer are not asked again before the next interval: with every seed
    // black-holed each ask costs a full deadline, and the start's health and metrics rounds run back to back.
    const interval = Math.min(this.config.healthCheckIntervalMs, this.config.metricsIntervalMs);
    if (Date.now() - this.seedsFailedAt < interval) return Promise.resolve();
    this.bootstrapping ??= (async () => {
      try {
        const answers = await Promise.all(
          this.seeds.map(async (seed) => {
            const own = this.clients.get(seed);
            const client = own ?? new MemberClient(seed, this.tls, this.clientOptions);
            try {
              const result = await timed(this.hardLimitMs, () => client.memberList(), {
                endpoint: seed,
                what: 'members',
              });
              return result.ok ? { at: result.at, members: result.value, fromLeader: false } : undefined;
            } finally {
              if (!own) client.close();
            }
          }),
        );
        const answered = answers.flatMap((a): ListAnswer[] => (a ? [a] : []));
        const list = pickMemberList(answered, this.hardLimitMs);
        if (list) {
          this.list = answered.find((a) => a.members === list);
          this.askSeeds = false;
        } else this.seedsFailedAt = Date.now();
        this.reconcile();
      } finally {
        this.bootstrapping = undefined;
      }
    })();
    return this.bootstrapping;
  }

  /** Chooses the member list to believe from this round's answers and moves the targets to it. */
  private reconcile(): void {
    const discover = this.cluster.discoverMembers;
    const answers = this.listAnswers();
    // The list believed last round stays a candidate only when it drives the targets (discovery on).
    if (discover && this.list) answers.push(this.list);
    const list = pickMemberList(answers, this.hardLimitMs);
    if (list) this.list = answers.find((a) => a.members === list);
    if (!discover) return;
    const failing = new Set(
      [...this.members.values()].filter((m) => m.status && !m.status.ok).map((m) => m.endpoint),
    );
    const next = planTargets(this.seeds, this.targets, this.list?.members, failing, true);
    this.applyTargets(next.slice(0, MAX_MEMBERS_PER_CLUSTER));
  }

  private listAnswers(): ListAnswer[] {
    return [...this.members.values()].flatMap((m) =>
      m.members?.ok ? [{ at: m.members.at, members: m.members.value, fromLeader: leads(m.status) }] : [],
    );
  }

  /**
   * Opens a client for every new endpoint and closes those no longer watched; their member records go
   * with them, so a removed member's series disappear from the next snapshot.
   */
  private applyTargets(next: readonly Target[]): void {
    const keep = new Set(next.map((t) => t.endpoint));
    const seeds = new Set(this.seeds);
    for (const [endpoint, client] of this.clients) {
      if (keep.has(endpoint)) continue;
      client.close();
      this.clients.delete(endpoint);
      this.members.delete(endpoint);
    }
    for (const target of next) {
      if (this.clients.has(target.endpoint)) continue;
      this.clients.set(target.endpoint, new MemberClient(target.endpoint, this.tls, this.clientOptions));
      this.members.set(target.endpoint, {
        endpoint: target.endpoint,
        ...(seeds.has(target.endpoint) ? {} : { discovered: true }),
      });
    }
    this.targets = [...next];
  }

  /**
   * One source against one member under the hard deadline (`timed`): its result, with success, duration
   * and on failure the error's stable code, becomes the member's field of that name.
   */
  private async run<T>(endpoint: string, collector: CollectorName, fn: () => Promise<T>): Promise<void> {
    const result: CollectorResult<T> = await timed(this.hardLimitMs, fn, { endpoint, what: collector });
    // The member may have been removed from the watch list while the call was under way.
    const member = this.members.get(endpoint);
    if (!member) return;
    (member as Record<CollectorName, unknown>)[collector] = result;
    // Counted here, where each result is recorded, so every failed result is counted exactly once.
    if (!result.ok) {
      const counts = { ...member.errorCounts?.[collector] };
      counts[result.code] = (counts[result.code] ?? 0) + 1;
      member.errorCounts = { ...member.errorCounts, [collector]: counts };
    }
    this.lastResultAt = Math.max(this.lastResultAt, result.at);
  }
}

/** True when the member's latest status succeeded and named the member itself as leader. */
function leads(status: MemberSnapshot['status']): boolean {
  return (
    status?.ok === true && status.value.leaderId !== '0' && status.value.leaderId === status.value.memberId
  );
}
