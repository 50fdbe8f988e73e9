import { resolveConfig } from '../config/resolve.js';
import type { MonitorConfig, TlsFiles } from '../config/types.js';
import type { ClusterView } from '../derive/view.js';
import { renderAll } from '../expose/registry.js';
import { createLogger, type Logger } from '../util/logger.js';
import { clusterStatus as statusOf, type ClusterStatus } from './cluster-status.js';
import { Monitor } from './monitor.js';

export type { ClusterStatus };

/*
 * The library API (`createMonitor`, exported from the package entry): one cluster's Monitor behind the
 * CLI's option validation, for programs that embed the health derivation instead of scraping the exporter.
 */

/** Options of createMonitor; intervals are milliseconds or duration strings ("30s"). Unset values use the exporter's defaults. */
export interface MonitorOptions {
  readonly endpoints: readonly string[];
  readonly clusterName?: string;
  readonly tls?: TlsFiles;
  readonly healthCheckInterval?: number | string;
  readonly metricsInterval?: number | string;
  readonly dialTimeout?: number | string;
  readonly requestTimeout?: number | string;
  readonly expectedMembers?: number;
  readonly maxLatencyMs?: number;
  readonly maxDbSizeMb?: number;
  readonly minAvailableNodes?: number;
  readonly maxLeaderChanges?: number;
  /** Write probes under the probe prefix (default on, as in the exporter). */
  readonly probe?: boolean;
  /** Defaults to a silent logger. */
  readonly logger?: Logger;
}

/** Current performance numbers; latencies in seconds from the exporter's probe, sizes in bytes. */
export interface CurrentMetrics {
  readonly timestamp: Date;
  readonly requestRate: number;
  readonly readLatencyP50: number | null;
  readonly readLatencyP95: number | null;
  readonly readLatencyP99: number | null;
  readonly writeLatencyP50: number | null;
  readonly writeLatencyP95: number | null;
  readonly writeLatencyP99: number | null;
  readonly dbSize: number | null;
  readonly dbSizeInUse: number | null;
}

/** A running monitor of one cluster, for embedding in other programs. */
export interface EtcdMonitor {
  readonly config: MonitorConfig;
  /** Runs the first collection rounds, then keeps collecting on the intervals. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Latest status; undefined before the first round finished. */
  clusterStatus(): ClusterStatus | undefined;
  currentMetrics(): CurrentMetrics | undefined;
  /** The full derived view (every field the exporter exposes). */
  view(): ClusterView | undefined;
  /** Prometheus exposition of the exporter's own metrics. */
  metricsText(): Promise<string>;
}

const duration = (v: number | string | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === 'number' ? `${v}ms` : v;

/** Creates a monitor with the same validation and defaults as the CLI (throws ConfigError on bad options). */
export function createMonitor(opts: MonitorOptions): EtcdMonitor {
  const flags: Record<string, unknown> = {
    endpoints: opts.endpoints.join(','),
    'cluster-name': opts.clusterName,
    'health-check-interval': duration(opts.healthCheckInterval),
    'metrics-interval': duration(opts.metricsInterval),
    'dial-timeout': duration(opts.dialTimeout),
    'request-timeout': duration(opts.requestTimeout),
    'expected-members': opts.expectedMembers,
    'max-latency-ms': opts.maxLatencyMs,
    'max-db-size-mb': opts.maxDbSizeMb,
    'min-available-nodes': opts.minAvailableNodes,
    'max-leader-changes': opts.maxLeaderChanges,
    probe: opts.probe,
    cert: opts.tls?.certFile,
    key: opts.tls?.keyFile,
    cacert: opts.tls?.caFile,
  };
  for (const k of Object.keys(flags)) if (flags[k] === undefined) delete flags[k];
  const config = resolveConfig({ flags, env: {} });
  const monitor = new Monitor(config, opts.logger ?? createLogger('silent', 'json'));
  const num = (v: number | undefined): number | null => (v === undefined ? null : v);
  return {
    config,
    start: () => monitor.start(),
    stop: () => monitor.stop(),
    view: () => monitor.view(),
    metricsText: () => renderAll(monitor.metrics),
    clusterStatus() {
      const v = monitor.view();
      return v && statusOf(v);
    },
    currentMetrics() {
      const v = monitor.view();
      if (!v) return undefined;
      const leader = v.members.find((m) => m.isLeader) ?? v.members.find((m) => m.up);
      return {
        timestamp: new Date(v.takenAt),
        requestRate: v.members.reduce((sum, m) => sum + (m.requestsPerSecond ?? 0), 0),
        readLatencyP50: num(v.probe.readP50Seconds),
        readLatencyP95: num(v.probe.readP95Seconds),
        readLatencyP99: num(v.probe.readP99Seconds),
        writeLatencyP50: num(v.probe.writeP50Seconds),
        writeLatencyP95: num(v.probe.writeP95Seconds),
        writeLatencyP99: num(v.probe.writeP99Seconds),
        dbSize: num(leader?.dbSizeBytes),
        dbSizeInUse: num(leader?.dbSizeInUseBytes),
      };
    },
  };
}
