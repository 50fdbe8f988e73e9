import type { ClusterConfig, MonitorConfig } from '../config/types.js';
import { MemberHttpClient } from '../etcd/http-client.js';
import { loadTlsMaterial, MemberClient, readPasswordFile } from '../etcd/member-client.js';
import { parsePromText } from '../etcd/parse-prom-text.js';
import type { ClusterSnapshot, CollectorName, CollectorResult, MemberSnapshot } from './snapshot.js';
import { timed } from './timed.js';

type MutableMember = { -readonly [K in keyof MemberSnapshot]: MemberSnapshot[K] };

/**
 * Collects from every configured endpoint of one cluster. Each member and each source runs
 * concurrently with its own deadline; results land in a per-endpoint record that `snapshot()`
 * copies out as plain data.
 */
export class ClusterCollector {
  private readonly http: MemberHttpClient;
  private readonly clients = new Map<string, MemberClient>();
  private readonly members = new Map<string, MutableMember>();
  private readonly hardLimitMs: number;
  private lastResultAt = 0;
  private readonly turns = new Map<'alarms' | 'members', number>();

  constructor(
    readonly cluster: ClusterConfig,
    private readonly config: MonitorConfig,
  ) {
    const tls = loadTlsMaterial(cluster.tls);
    const timeouts = { dialTimeoutMs: config.dialTimeoutMs, requestTimeoutMs: config.requestTimeoutMs };
    this.http = new MemberHttpClient(tls, timeouts);
    const maxReconnectBackoffMs = Math.max(
      200,
      Math.min(config.healthCheckIntervalMs, config.metricsIntervalMs, 5000),
    );
    const auth = cluster.auth
      ? { username: cluster.auth.username, password: readPasswordFile(cluster.auth.passwordFile) }
      : undefined;
    for (const endpoint of cluster.endpoints) {
      this.clients.set(
        endpoint,
        new MemberClient(endpoint, tls, { ...timeouts, maxReconnectBackoffMs, ...(auth ? { auth } : {}) }),
      );
      this.members.set(endpoint, { endpoint });
    }
    this.hardLimitMs = config.requestTimeoutMs + Math.min(config.dialTimeoutMs, 2000) + 500;
  }

  /**
   * The slow, rich round: /metrics and status of every member, and the member list of one (see
   * `oneMember`; the health round asks all). Alarms come with each status (etcd lists them in its
   * `errors`); the AlarmList call itself is left to the health round.
   */
  async collectMetricsRound(): Promise<void> {
    const listSource = this.oneMember('members');
    await Promise.all(
      [...this.clients].map(([endpoint, client]) =>
        Promise.all([
          this.run(endpoint, 'metrics', async () =>
            parsePromText(await this.http.fetchMetricsText(endpoint)),
          ),
          this.run(endpoint, 'status', () => client.status()),
          endpoint === listSource ? this.run(endpoint, 'members', () => client.memberList()) : undefined,
        ]),
      ),
    );
  }

  /**
   * The member asked this round for a cluster-wide list that one answer is enough for. The alarm
   * list: etcd answers every AlarmList through a raft proposal — a WAL write on every member
   * (etcd_server_proposals_committed_total rises by one per call) — so asking all members would add
   * members × rounds writes to the cluster being watched, while statuses already carry each member's
   * alarms. The member list between health rounds: membership changes only by an operator's hand, and
   * each call costs etcd CPU on every member every round. The leader (as its last status said) answers
   * without forwarding; if it is not known or its last answer failed, members take turns, so a dead
   * one is skipped next round.
   */
  private oneMember(collector: 'alarms' | 'members'): string {
    const endpoints = [...this.clients.keys()];
    const leader = endpoints.find((endpoint) => {
      const member = this.members.get(endpoint);
      const status = member?.status;
      return (
        status?.ok === true &&
        status.value.leaderId !== '0' &&
        status.value.leaderId === status.value.memberId &&
        member?.[collector]?.ok !== false
      );
    });
    if (leader !== undefined) return leader;
    const turn = ((this.turns.get(collector) ?? -1) + 1) % endpoints.length;
    this.turns.set(collector, turn);
    return endpoints[turn] as string;
  }

  /**
   * The fast round: /health, status (for leader and term), member list and the read/write probe of
   * every member, and the alarm list from one member (see `oneMember`).
   */
  async collectHealthRound(): Promise<void> {
    const alarmSource = this.oneMember('alarms');
    await Promise.all(
      [...this.clients].map(([endpoint, client]) =>
        Promise.all([
          this.run(endpoint, 'health', () => this.http.health(endpoint)),
          this.run(endpoint, 'status', () => client.status()),
          this.run(endpoint, 'members', () => client.memberList()),
          this.config.probe.enabled
            ? this.run(endpoint, 'probe', () =>
                client.probe(this.probeKey(endpoint), this.config.probe.leaseTtlSeconds),
              )
            : Promise.resolve(),
          endpoint === alarmSource ? this.run(endpoint, 'alarms', () => client.alarms()) : undefined,
        ]),
      ),
    );
  }

  /**
   * HashKV of every member at one revision: the lowest current revision among members, so each has it
   * (a member that compacted past it answers with an error and is left out of the comparison).
   */
  async collectHashRound(): Promise<void> {
    const revisions = [...this.members.values()].flatMap((m) =>
      m.status?.ok ? [m.status.value.revision] : [],
    );
    if (revisions.length === 0) return;
    const revision = Math.min(...revisions);
    await Promise.all(
      [...this.clients].map(([endpoint, client]) =>
        this.run(endpoint, 'hashkv', () => client.hashKv(revision)),
      ),
    );
  }

  /** Plain-data copy of the latest result of every collector for every member. */
  snapshot(): ClusterSnapshot {
    return {
      cluster: this.cluster.name,
      takenAt: this.lastResultAt || Date.now(),
      ...(this.cluster.expectedMembers ? { expectedMembers: this.cluster.expectedMembers } : {}),
      members: [...this.members.values()].map((m) => ({ ...m })),
    };
  }

  /** Closes every connection of this cluster. */
  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    await this.http.close();
  }

  private async run<T>(endpoint: string, collector: CollectorName, fn: () => Promise<T>): Promise<void> {
    const result: CollectorResult<T> = await timed(this.hardLimitMs, fn);
    const member = this.members.get(endpoint) as MutableMember;
    (member as Record<CollectorName, unknown>)[collector] = result;
    this.lastResultAt = Math.max(this.lastResultAt, result.at);
  }

  private probeKey(endpoint: string): string {
    const status = this.members.get(endpoint)?.status;
    const id = status?.ok ? status.value.memberId : new URL(endpoint).host;
    return `${this.config.probe.prefix}${this.cluster.name}/${id}`;
  }
}
