import type { LogFormat, LogLevel } from '../util/logger.js';

/** Client TLS files for talking to one cluster's members (paths, read at connect time). */
export interface TlsFiles {
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly caFile?: string;
}

/** One monitored etcd cluster. */
export interface ClusterConfig {
  /** Value of the `cluster` label on every series of this cluster. */
  readonly name: string;
  readonly endpoints: readonly string[];
  readonly tls?: TlsFiles;
  /** etcd authentication; the password stays in its file until a client is built. */
  readonly auth?: { readonly username: string; readonly passwordFile: string };
  /** Extra constant labels the user attaches (exposed on etcd_monitor_cluster_info). */
  readonly tags: Readonly<Record<string, string>>;
  /** Number of voting members the operator expects; when unset the member list decides. */
  readonly expectedMembers?: number;
  /**
   * Endpoints are seeds and the member list defines the cluster (as `etcdctl --cluster`); false watches
   * only the endpoints given.
   */
  readonly discoverMembers: boolean;
  /** clusters[].reexpose_max_series (Infinity for 0); absent: the global --reexpose-max-series. */
  readonly reexposeMaxSeries?: number;
  /** This cluster's thresholds: clusters[].max_db_size_mb etc., else the flag / env / top-level value. */
  readonly thresholds: Thresholds;
}

/**
 * Alerting thresholds of one cluster (--max-latency-ms etc., or its clusters[] entry's own). The exporter
 * exposes them as etcd_monitor_threshold_* series, which the bundled alert rules compare against (the
 * rendered defaults only stand in where a cluster has no such series).
 */
export interface Thresholds {
  readonly maxLatencyMs: number;
  readonly maxDbSizeBytes: number;
  readonly minAvailableNodes: number;
  readonly maxLeaderChangesPerHour: number;
}

/** The validated, immutable configuration everything else consumes. */
export interface MonitorConfig {
  /** The clusters this replica watches: every configured one unless sharded (then maybe none). */
  readonly clusters: readonly ClusterConfig[];
  /** --shard-index of --shard-count (src/config/shard.ts); { index: 0, count: 1 } when not sharded. */
  readonly shard: { readonly index: number; readonly count: number };
  readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly healthCheckIntervalMs: number;
  readonly metricsIntervalMs: number;
  /** 0 when the HashKV consistency check is off. */
  readonly hashkvIntervalMs: number;
  readonly api: {
    readonly host: string;
    readonly port: number;
    /** Path of the exporter-toolkit style web config; undefined means plain, open HTTP. */
    readonly webConfigFile?: string;
    readonly corsOrigins: readonly string[];
    /** --web.max-connections: open connections to our HTTP server; 0 = no cap. */
    readonly maxConnections: number;
    /** --web.enable-benchmark-api: the benchmark API answers 403 unless this is true. */
    readonly enableBenchmarkApi: boolean;
    /** Prometheus that answers history queries; undefined disables /api/v1/metrics/history. */
    readonly prometheusUrl?: string;
  };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly probe: { readonly enabled: boolean; readonly prefix: string; readonly leaseTtlSeconds: number };
  readonly reexpose: {
    readonly enabled: boolean;
    readonly allow: readonly RegExp[];
    /** --reexpose-max-series per member; Infinity when 0 (no cap). */
    readonly maxSeries: number;
  };
  readonly dataDir: string;
  /** The webhook's firing set: --alerts.resolve-timeout. */
  readonly alerts: { readonly resolveTimeoutMs: number };
}
