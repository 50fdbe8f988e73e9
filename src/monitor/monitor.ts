import { ClusterCollector } from '../collect/cluster-collector.js';
import { COLLECTORS, type ClusterSnapshot } from '../collect/snapshot.js';
import type { RoundName } from '../collect/sources.js';
import type { MonitorConfig } from '../config/types.js';
import { deriveCluster, INITIAL_DERIVE_STATE, type DeriveState } from '../derive/derive-cluster.js';
import type { ClusterView } from '../derive/view.js';
import { leaderChangeBetween, type LeaderChange } from '../derive/leader-changes.js';
import { ALL_METRICS } from '../expose/metric-table.js';
import { createExporterMetrics, type ExporterMetrics, type ExposedState } from '../expose/registry.js';
import { ExpositionCache, type Exposition } from '../expose/exposition-cache.js';
import {
  assembleReexposedBytes,
  encodeChunks,
  renderCluster,
  type EncodedChunks,
} from '../expose/reexpose.js';
import { parseEndpoint } from '../util/endpoint.js';
import type { Logger } from '../util/logger.js';
import { VERSION } from '../util/version.js';

/**
 * The `instance` of a member's relayed series: `host:port` of the client URL watched, as Prometheus
 * names a directly scraped target (IPv6 in brackets). Endpoints here are already normalised URLs; one
 * that is not keeps its text rather than failing the round.
 */
function instanceOf(endpoint: string): string {
  try {
    return parseEndpoint(endpoint).authority;
  } catch {
    return endpoint;
  }
}

interface ClusterRuntime {
  readonly collector: ClusterCollector;
  state: DeriveState;
  latest?: ExposedState;
  /** This cluster's re-exposed series from its last metrics round, encoded once for every merge. */
  reexposed?: EncodedChunks;
  /** Members re-exposed in the last metrics round and whether each was over --reexpose-max-series. */
  reexposeOverCap: Map<string, boolean>;
  metricsRunning: boolean;
  healthRunning: boolean;
  hashkvRunning: boolean;
  probeSeenAt: Map<string, number>;
  /** Member label each endpoint's probe series carry, so a renamed member's old series can be removed. */
  probeLabel: Map<string, string>;
  /** Members last named in the "not watched" warning (only without member discovery). */
  unwatchedWarned?: string;
}

/** Names our own metrics use; a member series with one of these names is never re-exposed over them. */
const OWN_NAMES = new Set(ALL_METRICS.map((d) => d.name));

/**
 * Runs collection rounds for every configured cluster on their intervals, derives each cluster's view
 * after every round, and keeps the latest view, snapshot and re-exposed text for the HTTP layer.
 */
export class Monitor {
  readonly metrics: ExporterMetrics;
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly reexposedCache = new ExpositionCache();
  /** The derived registry's last render; scrapes between rounds serve it instead of rendering again. */
  private readonly derivedCache = new ExpositionCache();
  /**
   * A cluster's re-exposed series changed since the last merge. Merges and derived renders are made
   * when read (a scrape), not when a round ends: both cover every cluster, and with rounds of 333
   * clusters ending over seconds, 250 ms merge windows still merged and rendered everything ≈5 times
   * per interval (perf/exporter-pipeline.ts), where one per scrape is enough.
   */
  private reexposedStale = false;
  /** Bumped whenever a round ends; the derived render is current when it was made at this version. */
  private stateVersion = 0;
  private renderedVersion = -1;
  private rendering: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private readonly leaderListeners: ((change: LeaderChange) => void)[] = [];

  constructor(
    readonly config: MonitorConfig,
    private readonly log: Logger,
  ) {
    for (const cluster of config.clusters) {
      this.clusters.set(cluster.name, {
        collector: new ClusterCollector(cluster, config),
        state: INITIAL_DERIVE_STATE,
        metricsRunning: false,
        healthRunning: false,
        hashkvRunning: false,
        probeSeenAt: new Map(),
        probeLabel: new Map(),
        reexposeOverCap: new Map(),
      });
    }
    this.metrics = createExporterMetrics(
      () => this.states(),
      log,
      VERSION,
      Object.fromEntries(config.clusters.map((c) => [c.name, c.tags])),
      config.shard,
    );
  }

  /** Runs the first rounds (so /ready means data is there), then schedules the rest. */
  async start(): Promise<void> {
    const { index, count } = this.config.shard;
    if (count > 1) {
      // Every replica says which clusters it took, so "who watches cluster X" is one log search away.
      this.log.info(
        { shardIndex: index, shardCount: count, clusters: this.clusterNames() },
        `shard ${index} of ${count}: watching the ${this.clusters.size} configured cluster(s) whose name hashes to it`,
      );
    }
    // Health first, then metrics: the metrics round's Status comes after /health and the probe (each a
    // raft proposal in etcd 3.4), so the first view already compares two Statuses. On a slow cluster
    // (600 ms on the leader's links, /health giving up after 1 s) the raft index advanced between them and
    // the members read as slow, not as quorum lost: a monitor restart is not an outage. Concurrent rounds
    // gave one Status only, and the first view said quorum 0.
    await Promise.all(
      [...this.clusters.keys()].map(async (name) => {
        await this.round(name, 'health');
        await this.round(name, 'metrics');
      }),
    );
    if (this.stopped) return;
    this.started = true;
    // The renders made during start() exposed nothing (see states()); the next scrape renders anew.
    this.stateVersion++;
    for (const name of this.clusters.keys()) {
      this.timers.push(setInterval(() => void this.round(name, 'metrics'), this.config.metricsIntervalMs));
      this.timers.push(setInterval(() => void this.round(name, 'health'), this.config.healthCheckIntervalMs));
      if (this.config.hashkvIntervalMs > 0) {
        void this.round(name, 'hashkv');
        this.timers.push(setInterval(() => void this.round(name, 'hashkv'), this.config.hashkvIntervalMs));
      }
    }
  }

  /** True once every cluster has completed its first rounds. */
  get ready(): boolean {
    return this.started;
  }

  /** Latest view and snapshot of every cluster that has one. */
  states(): readonly ExposedState[] {
    // Nothing is exposed before the first rounds are done: a view from the health round alone cannot tell
    // slow from stuck yet (see start()).
    if (!this.started) return [];
    return [...this.clusters.values()].flatMap((c) => (c.latest ? [c.latest] : []));
  }

  /** Latest view of one cluster (the first configured one when no name is given). */
  view(cluster?: string): ClusterView | undefined {
    const name = cluster ?? this.config.clusters[0]?.name;
    return name === undefined ? undefined : this.clusters.get(name)?.latest?.view;
  }

  /** Names of the configured clusters. */
  clusterNames(): string[] {
    return [...this.clusters.keys()];
  }

  /** Members' own series with cluster/member labels, as rendered after the last metrics round. */
  reexposedText(): string {
    return this.reexposed().plain.toString('utf8');
  }

  /** The same series as bytes, plain and gzipped, for the /metrics handler. */
  reexposed(): Exposition {
    if (this.reexposedStale) {
      this.reexposedStale = false;
      const parts = [...this.clusters.values()].flatMap((c) => (c.reexposed ? [c.reexposed] : []));
      this.reexposedCache.update(assembleReexposedBytes(parts));
    }
    return this.reexposedCache.get();
  }

  /**
   * What /metrics serves from rounds: the re-exposed members' series, then the derived registry's
   * render. A round that ended since the last render is rendered now (shared by concurrent callers),
   * so /metrics never lags behind the REST API.
   */
  async exposition(): Promise<readonly Exposition[]> {
    // Twice at most: a render already under way may have started before the newest round ended.
    for (let i = 0; i < 2 && this.renderedVersion !== this.stateVersion; i++) await this.renderDerivedNow();
    return [this.reexposed(), this.derivedCache.get()];
  }

  /** Calls `listener` with every leader change a round observes (never for the first observation). */
  onLeaderChange(listener: (change: LeaderChange) => void): void {
    this.leaderListeners.push(listener);
  }

  private emitLeaderChange(
    name: string,
    runtime: ClusterRuntime,
    state: DeriveState,
    view: ClusterView,
  ): void {
    const names = (id: string) =>
      [...view.members, ...(runtime.latest?.view.members ?? [])].find((m) => m.memberId === id)?.member;
    const change = leaderChangeBetween(name, runtime.state.leaders, state.leaders, names);
    if (!change) return;
    this.log.info({ ...change }, 'leader changed');
    for (const listener of this.leaderListeners) listener(change);
  }

  /** Stops the timers and closes every etcd connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all([...this.clusters.values()].map((c) => c.collector.close()));
  }

  private async round(name: string, kind: RoundName): Promise<void> {
    const runtime = this.clusters.get(name) as ClusterRuntime;
    const flag = `${kind}Running` as const;
    if (runtime[flag] || this.stopped) {
      this.log.debug({ cluster: name, kind }, 'previous round still running; skipping this one');
      return;
    }
    runtime[flag] = true;
    try {
      if (kind === 'metrics') await runtime.collector.collectMetricsRound();
      else if (kind === 'health') await runtime.collector.collectHealthRound();
      else await runtime.collector.collectHashRound();
      if (this.stopped) return;
      const snapshot = runtime.collector.snapshot();
      this.logTransitions(runtime.latest?.snapshot, snapshot);
      this.warnUnwatched(runtime);
      const { view, state } = deriveCluster(runtime.state, snapshot, runtime.collector.cluster.thresholds);
      this.emitLeaderChange(name, runtime, state, view);
      runtime.state = state;
      runtime.latest = { view, snapshot };
      this.stateVersion++;
      this.observeProbes(runtime, view, snapshot);
      if (kind === 'metrics' && this.config.reexpose.enabled) this.renderReexposed(runtime, view, snapshot);
      this.logRound(kind, view);
    } catch (err) {
      // Collectors never throw; reaching this is a bug, and the next round must still run.
      this.log.error({ cluster: name, kind, err }, 'collection round failed');
    } finally {
      runtime[flag] = false;
    }
  }

  private observeProbes(runtime: ClusterRuntime, view: ClusterView, snapshot: ClusterSnapshot): void {
    // A member removed from the cluster (or moved to another URL) takes its probe series with it.
    const present = new Set(snapshot.members.map((m) => m.endpoint));
    for (const [endpoint, name] of runtime.probeLabel) {
      if (present.has(endpoint)) continue;
      for (const operation of ['read', 'write']) {
        const old = { cluster: view.cluster, member: name, operation };
        this.metrics.probeSuccess.remove(old);
        this.metrics.probeDuration.remove(old);
      }
      runtime.probeLabel.delete(endpoint);
      runtime.probeSeenAt.delete(endpoint);
    }
    for (const member of snapshot.members) {
      const probe = member.probe;
      if (!probe || runtime.probeSeenAt.get(member.endpoint) === probe.at) continue;
      runtime.probeSeenAt.set(member.endpoint, probe.at);
      const name = view.members.find((m) => m.endpoint === member.endpoint)?.member ?? member.endpoint;
      const previousName = runtime.probeLabel.get(member.endpoint);
      if (previousName !== undefined && previousName !== name) {
        // The member's name became known (it was labelled by host:port before): drop the old series.
        for (const operation of ['read', 'write']) {
          const old = { cluster: view.cluster, member: previousName, operation };
          this.metrics.probeSuccess.remove(old);
          this.metrics.probeDuration.remove(old);
        }
      }
      runtime.probeLabel.set(member.endpoint, name);
      for (const operation of ['read', 'write'] as const) {
        const labels = { cluster: view.cluster, member: name, operation };
        this.metrics.probeSuccess.set(labels, probe.ok ? 1 : 0);
        if (probe.ok)
          this.metrics.probeDuration.observe(
            labels,
            operation === 'read' ? probe.value.readSeconds : probe.value.writeSeconds,
          );
      }
    }
  }

  /** Re-renders only this cluster's series; the next read merges every cluster's last rendering. */
  private renderReexposed(runtime: ClusterRuntime, view: ClusterView, snapshot: ClusterSnapshot): void {
    const nameOf = (endpoint: string) =>
      view.members.find((mv) => mv.endpoint === endpoint)?.member ?? endpoint;
    const sources = snapshot.members.flatMap((m) =>
      m.metrics?.ok
        ? [
            {
              cluster: view.cluster,
              member: nameOf(m.endpoint),
              instance: instanceOf(m.endpoint),
              metrics: m.metrics.value,
            },
          ]
        : [],
    );
    const maxSeries = runtime.collector.cluster.reexposeMaxSeries ?? this.config.reexpose.maxSeries;
    const rendered = renderCluster(sources, this.config.reexpose.allow, OWN_NAMES, maxSeries);
    runtime.reexposed = encodeChunks(rendered.chunks);
    const watched = new Set(snapshot.members.map((m) => nameOf(m.endpoint)));
    this.noteOverCap(runtime, view.cluster, sources, watched, rendered.overCap, maxSeries);
    this.reexposedStale = true;
  }

  /**
   * Sets etcd_monitor_reexpose_dropped per member; one log line when a member goes over the cap or back.
   * A member whose /metrics failed this round keeps its last verdict (a hostile member that sometimes
   * times out is not logged again each time it answers); one no longer watched loses its series.
   */
  private noteOverCap(
    runtime: ClusterRuntime,
    cluster: string,
    sources: readonly { member: string }[],
    watched: ReadonlySet<string>,
    overCap: ReadonlySet<string>,
    maxSeries: number,
  ): void {
    const previous = runtime.reexposeOverCap;
    runtime.reexposeOverCap = new Map([...previous].filter(([member]) => watched.has(member)));
    for (const { member } of sources) {
      const over = overCap.has(member);
      runtime.reexposeOverCap.set(member, over);
      this.metrics.reexposeDropped.set({ cluster, member }, over ? 1 : 0);
      if (over === (previous.get(member) ?? false)) continue;
      const fields = { cluster, member, maxSeries };
      if (over)
        this.log.warn(
          fields,
          'member has more series than --reexpose-max-series; its own series are not re-exposed',
        );
      else
        this.log.info(fields, 'member back under --reexpose-max-series; its own series are re-exposed again');
    }
    for (const member of previous.keys()) {
      if (!runtime.reexposeOverCap.has(member)) this.metrics.reexposeDropped.remove({ cluster, member });
    }
  }

  /** Renders the derived registry unless the last render is current; a failure keeps the previous one. */
  private renderDerivedNow(): Promise<void> {
    if (this.renderedVersion === this.stateVersion) return Promise.resolve();
    this.rendering ??= (async () => {
      try {
        const version = this.stateVersion;
        this.derivedCache.update(await this.metrics.registry.metrics());
        this.renderedVersion = version;
      } catch (err) {
        this.log.error({ err }, 'rendering the derived metrics failed; serving the previous render');
      } finally {
        this.rendering = undefined;
      }
    })();
    return this.rendering;
  }

  /** One log line when a collector starts failing against a member and one when it recovers, not one per round. */
  private logTransitions(previous: ClusterSnapshot | undefined, current: ClusterSnapshot): void {
    for (const member of current.members) {
      const before = previous?.members.find((m) => m.endpoint === member.endpoint);
      for (const collector of COLLECTORS) {
        const now = member[collector];
        const then = before?.[collector];
        // Logged when a collector starts failing, recovers, or fails for another reason (code) than before.
        if (!now || (now.ok && then?.ok) || (!now.ok && then?.ok === false && now.code === then.code))
          continue;
        const fields = { cluster: current.cluster, endpoint: member.endpoint, collector };
        if (!now.ok)
          this.log.warn({ ...fields, code: now.code, error: now.error }, 'collector failing for member');
        else if (then) this.log.info(fields, 'collector recovered for member');
      }
    }
  }

  /**
   * Without member discovery, members the member list names but no configured endpoint reaches are not
   * watched: their health is unknown, not good. Said once per distinct set, at warn level.
   */
  private warnUnwatched(runtime: ClusterRuntime): void {
    const collector = runtime.collector;
    if (collector.cluster.discoverMembers) return;
    const unwatched = collector.unwatched().map((m) => m.name || m.id);
    const key = unwatched.join(',');
    if (key === runtime.unwatchedWarned) return;
    runtime.unwatchedWarned = key;
    if (unwatched.length === 0) return;
    this.log.warn(
      { cluster: collector.cluster.name, unwatched },
      'member discovery is off (--discover-members=false): these members are in the member list but not in --endpoints and are not watched',
    );
  }

  private logRound(kind: string, view: ClusterView): void {
    this.log.debug(
      {
        cluster: view.cluster,
        kind,
        reachable: view.membersReachable,
        healthy: view.membersHealthy,
        quorum: view.quorumAvailable,
        leader: view.leaderMember,
      },
      'collection round done',
    );
  }
}
