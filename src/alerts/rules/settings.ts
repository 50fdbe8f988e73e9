import { FIELDS } from '../../config/fields.js';
import { parseDurationMs } from '../../util/duration.js';

/** One rule-only tunable: the flag of `npm run rules`, its default and a parser. Exporter thresholds live in FIELDS. */
export interface TunableSpec {
  readonly flag: string;
  readonly doc: string;
  readonly defaultValue: number;
  /** `duration` values are milliseconds, accepted as "30m", "1h", … */
  readonly kind: 'number' | 'ratio' | 'duration';
}

/**
 * Thresholds that only the alert rules use. Defaults are argued in docs/runbooks.md next to each alert;
 * they are defined here once and rendered into alert-rules/ by `npm run rules`.
 */
export const TUNABLES = {
  walFsyncWarningSeconds: {
    flag: 'wal-fsync-warning-seconds',
    doc: 'WAL fsync p99 above this warns',
    defaultValue: 0.05,
    kind: 'number',
  },
  walFsyncCriticalSeconds: {
    flag: 'wal-fsync-critical-seconds',
    doc: 'WAL fsync p99 above this is critical',
    defaultValue: 0.5,
    kind: 'number',
  },
  backendCommitWarningSeconds: {
    flag: 'backend-commit-warning-seconds',
    doc: 'Backend commit p99 above this warns',
    defaultValue: 0.25,
    kind: 'number',
  },
  backendCommitCriticalSeconds: {
    flag: 'backend-commit-critical-seconds',
    doc: 'Backend commit p99 above this is critical',
    defaultValue: 1,
    kind: 'number',
  },
  peerRttSeconds: {
    flag: 'peer-rtt-seconds',
    doc: "Peer round trips slower than this (rounded up to a bucket edge of etcd's histogram) count as slow",
    defaultValue: 0.15,
    kind: 'number',
  },
  peerRttSlowRatio: {
    flag: 'peer-rtt-slow-ratio',
    doc: 'Share of slow peer round trips that warns',
    defaultValue: 0.01,
    kind: 'ratio',
  },
  grpcFailureWarningRatio: {
    flag: 'grpc-failure-warning-ratio',
    doc: 'Share of failed unary gRPC requests that warns',
    defaultValue: 0.01,
    kind: 'ratio',
  },
  grpcFailureCriticalRatio: {
    flag: 'grpc-failure-critical-ratio',
    doc: 'Share of failed unary gRPC requests that is critical',
    defaultValue: 0.05,
    kind: 'ratio',
  },
  grpcMinRequestsPerSecond: {
    flag: 'grpc-min-requests-per-second',
    doc: 'A gRPC method with less traffic than this is never judged by its failure share',
    defaultValue: 1,
    kind: 'number',
  },
  failedProposals: {
    flag: 'failed-proposals',
    doc: 'More failed proposals than this in every 10-minute window warns',
    defaultValue: 5,
    kind: 'number',
  },
  quotaInfoRatio: {
    flag: 'quota-info-ratio',
    doc: 'DB size share of the quota that informs',
    defaultValue: 0.65,
    kind: 'ratio',
  },
  quotaWarningRatio: {
    flag: 'quota-warning-ratio',
    doc: 'DB size share of the quota that warns',
    defaultValue: 0.75,
    kind: 'ratio',
  },
  quotaCriticalRatio: {
    flag: 'quota-critical-ratio',
    doc: 'DB size share of the quota that is critical',
    defaultValue: 0.85,
    kind: 'ratio',
  },
  growthHorizon: {
    flag: 'growth-horizon',
    doc: 'Warn when the in-use DB size is predicted to reach the quota within this time',
    defaultValue: 4 * 3_600_000,
    kind: 'duration',
  },
  fragmentationRatio: {
    flag: 'fragmentation-ratio',
    doc: 'Share of the DB file that defragmentation would reclaim, above which to warn',
    defaultValue: 0.5,
    kind: 'ratio',
  },
  fragmentationMinQuotaRatio: {
    flag: 'fragmentation-min-quota-ratio',
    doc: 'Size floor: reclaimable bytes must also exceed this share of the quota',
    defaultValue: 0.25,
    kind: 'ratio',
  },
  applyLagEntries: {
    flag: 'apply-lag-entries',
    doc: 'Committed-but-unapplied raft entries above this warn (etcd rejects writes at 5000)',
    defaultValue: 2500,
    kind: 'number',
  },
  slowApplies: {
    flag: 'slow-applies',
    doc: 'More slow applies than this in every 5-minute window warns',
    defaultValue: 5,
    kind: 'number',
  },
  heartbeatFailures: {
    flag: 'heartbeat-failures',
    doc: 'More late leader heartbeats than this in every 5-minute window warns',
    defaultValue: 5,
    kind: 'number',
  },
  fdWarningRatio: {
    flag: 'fd-warning-ratio',
    doc: 'Open file descriptors as a share of the limit that warns',
    defaultValue: 0.8,
    kind: 'ratio',
  },
  fdCriticalRatio: {
    flag: 'fd-critical-ratio',
    doc: 'Open file descriptors as a share of the limit that is critical',
    defaultValue: 0.9,
    kind: 'ratio',
  },
  learnerPromotionTimeout: {
    flag: 'learner-promotion-timeout',
    doc: 'A learner not promoted within this time warns',
    defaultValue: 30 * 60_000,
    kind: 'duration',
  },
  versionSkewTimeout: {
    flag: 'version-skew-timeout',
    doc: 'Members running different versions for longer than this warn',
    defaultValue: 3_600_000,
    kind: 'duration',
  },
  quorumAtRiskTimeout: {
    flag: 'quorum-at-risk-timeout',
    doc: 'Failure tolerance 0 for longer than this pages (longer than one member restart)',
    defaultValue: 15 * 60_000,
    kind: 'duration',
  },
} satisfies Record<string, TunableSpec>;

/** Name of one rule-only tunable (a key of TUNABLES). */
export type TunableName = keyof typeof TUNABLES;

/** Every number rendered into the rules: the exporter's threshold flags plus the rule-only tunables. */
export type RuleSettings = {
  -readonly [K in TunableName]: number;
} & {
  maxLatencyMs: number;
  maxDbSizeMb: number;
  minAvailableNodes: number;
  maxLeaderChanges: number;
  metricsIntervalMs: number;
  healthCheckIntervalMs: number;
};

/** The settings the shipped alert-rules/ files are rendered with: exporter flag defaults plus tunable defaults. */
export function defaultSettings(): RuleSettings {
  const tunables = Object.fromEntries(
    Object.entries(TUNABLES).map(([name, spec]) => [name, spec.defaultValue]),
  ) as Record<TunableName, number>;
  return {
    ...tunables,
    maxLatencyMs: FIELDS.maxLatencyMs.defaultValue,
    maxDbSizeMb: FIELDS.maxDbSizeMb.defaultValue,
    minAvailableNodes: FIELDS.minAvailableNodes.defaultValue,
    maxLeaderChanges: FIELDS.maxLeaderChanges.defaultValue,
    metricsIntervalMs: FIELDS.metricsInterval.defaultValue,
    healthCheckIntervalMs: FIELDS.healthCheckInterval.defaultValue,
  };
}

/** Parses one tunable from a flag value; throws a message naming the flag. */
export function parseTunable(spec: TunableSpec, raw: unknown): number {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
  const value = spec.kind === 'duration' ? parseDurationMs(text) : Number(text);
  if (text === '' || !Number.isFinite(value) || value < 0) {
    throw new Error(
      `--${spec.flag}: expected a ${spec.kind === 'duration' ? 'duration' : 'non-negative number'}, got "${String(raw)}"`,
    );
  }
  if (spec.kind === 'ratio' && value > 1)
    throw new Error(`--${spec.flag}: expected a ratio between 0 and 1, got ${value}`);
  return value;
}
