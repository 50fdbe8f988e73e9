/** What the status page renders: the JSON shapes of the REST API it polls (the fields it shows). */

/** One member as GET /api/v1/cluster/members returns it (the fields the page shows). */
export interface MemberJson {
  readonly name: string;
  readonly endpoint: string;
  readonly up: boolean;
  readonly healthy: boolean;
  readonly health_state: string;
  readonly health_reason: string;
  readonly is_leader: boolean;
  readonly is_learner: boolean;
  readonly version: string | null;
  readonly raft_term: number | null;
  readonly raft_index: number | null;
  readonly db_size: number | null;
  readonly db_quota: number | null;
  readonly db_quota_usage_ratio: number | null;
  readonly alarms: readonly string[];
  readonly last_error: {
    readonly collector: string;
    readonly code: string;
    readonly message: string;
    readonly at: string | null;
  } | null;
}

/** GET /api/v1/cluster/status. */
export interface StatusJson {
  readonly cluster: string;
  readonly healthy: boolean;
  readonly member_count: number;
  readonly members_healthy: number;
  readonly members_available: number;
  readonly quorum_size: number;
  readonly quorum_available: boolean;
  readonly failure_tolerance: number;
  readonly has_leader: boolean;
  readonly split_brain: boolean;
  readonly stale_leader: boolean;
  readonly leader_changes: number;
  readonly leader_changes_last_hour: number;
  readonly network_partition: boolean;
  readonly partition_reasons: readonly string[];
  readonly alarms: readonly { readonly member: string; readonly type: string }[];
  readonly last_check: string | null;
}

/** One entry of GET /api/v1/cluster/leader/history. */
export interface LeaderChangeJson {
  readonly at: string;
  readonly previousLeader: string | null;
  readonly leader: string | null;
  readonly term: number;
}

/** One firing alert of GET /api/v1/alerts. */
export interface AlertJson {
  readonly alertname: string;
  readonly severity: string;
  readonly member?: string;
  readonly startsAt: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** One run of GET /api/v1/performance/benchmark's comparison. */
export interface BenchmarkJson {
  readonly type: string;
  readonly cluster?: string | null;
  readonly finishedAt: string;
  readonly throughput: number;
  readonly p99Ms: number;
  readonly failed: number;
  readonly sloPassed: boolean;
}

/** A part of a card that could not be loaded, and why (shown as text). */
export interface Unavailable {
  readonly unavailable: string;
}
export type Part<T> = T | Unavailable;

/** Everything one card shows. */
export interface ClusterData {
  readonly name: string;
  readonly status: Part<StatusJson>;
  readonly members: Part<readonly MemberJson[]>;
  readonly leaderChanges: Part<readonly LeaderChangeJson[]>;
  readonly alerts: Part<readonly AlertJson[]>;
  /** The newest benchmark run against this cluster; null when there is none. */
  readonly benchmark: Part<BenchmarkJson | null>;
}

export type Level = 'ok' | 'warn' | 'crit' | 'unknown';
