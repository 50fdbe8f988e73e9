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

  /** The slow, rich round: /metrics, status, member list and alarms of every member. */
  async collectMetricsRound(): Promise<void> {
    await Promise.all(
      [...this.clients].map(([endpoint, client]) =>
        Promise.all([
          this.run(endpoint, 'metrics', async () =>
            parsePromText(await this.http.fetchMetricsText(endpoint)),
          ),
          this.run(endpoint, 'status', () => client.status()),
          this.run(endpoint, 'members', () => client.memberList()),
          this.run(endpoint, 'alarms', () => client.alarms()),
        ]),
      ),
    );
  }

  /** The fast round: /health, status (for leader and term) and the read/write probe of every member. */
  async collectHealthRound(): Promise<void> {
    await Promise.all(
      [...this.clients].map(([endpoint, client]) =>
        Promise.all([
          this.run(endpoint, 'health', () => this.http.health(endpoint)),
          this.run(endpoint, 'status', () => client.status()),
          this.config.probe.enabled
            ? this.run(endpoint, 'probe', () =>
                client.probe(this.probeKey(endpoint), this.config.probe.leaseTtlSeconds),
              )
            : Promise.resolve(),
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
