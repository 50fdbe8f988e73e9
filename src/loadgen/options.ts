import { resolveConfig } from '../config/resolve.js';
import { readPasswordFile } from '../etcd/member-client.js';
import type { ClusterConfig, MonitorConfig } from '../config/types.js';
import { ConfigError } from '../util/errors.js';
import { parseFlagDuration } from '../config/flags.js';
import { WORKLOADS, type Workload } from './load.js';
import type { BenchOptions } from './spec.js';
import {
  DEFAULT_SLO,
  PROFILES,
  PROFILE_DURATION_MS,
  PROFILE_KEY_SIZE,
  PROFILE_VAL_SIZE,
  VERDICTS,
  type ProfileName,
  type VerdictName,
} from './slo.js';

/** Defaults of the project's reference conditions (also those of perf/bench-vs-reference.ts). */
export const BENCH_DEFAULTS = {
  ops: 10_000,
  clients: 64,
  conns: 8,
  keySize: 8,
  valSize: 256,
  keySpace: 10_000,
  readRatio: 0.7,
  workers: 1,
} as const;

/** The cluster's etcd credentials for a run (the password read from its file), if it has any. */
export function benchAuth(cluster: ClusterConfig): Pick<BenchOptions, 'auth'> {
  return cluster.auth
    ? { auth: { username: cluster.auth.username, password: readPasswordFile(cluster.auth.passwordFile) } }
    : {};
}

/** Raw benchmark flags as yargs hands them over (all optional). */
export interface BenchFlags {
  type?: string;
  ops?: number;
  duration?: string;
  clients?: number;
  conns?: number;
  'key-size'?: number;
  'val-size'?: number;
  'key-space'?: number;
  'sequential-keys'?: boolean;
  consistency?: string;
  rate?: number;
  prefix?: string;
  compact?: boolean;
  client?: string;
  workers?: number;
  'read-ratio'?: number;
  profile?: string;
  verdict?: string;
  'slo-read-ops'?: number;
  'slo-write-ops'?: number;
  'slo-p99-ms'?: number;
}

/** Parses a workload name (`--type`, `--benchmark-type`, the API's `type`): one of WORKLOADS. */
export function parseWorkload(raw: unknown): Workload {
  if (typeof raw === 'string' && (WORKLOADS as readonly string[]).includes(raw)) return raw as Workload;
  throw new ConfigError('type', `must be one of ${WORKLOADS.join(', ')}, got ${JSON.stringify(raw)}`);
}

/** Turns flags plus the resolved exporter config (endpoints, TLS, timeouts) into run options. */
export function benchOptionsFromFlags(f: BenchFlags, config: MonitorConfig): BenchOptions {
  const cluster = config.clusters[0];
  if (!cluster) throw new ConfigError('endpoints', 'no cluster configured');
  let profile: ProfileName | undefined;
  if (f.profile !== undefined) {
    if (!(f.profile in PROFILES))
      throw new ConfigError('profile', `must be one of ${Object.keys(PROFILES).join(', ')}`);
    profile = f.profile as ProfileName;
  }
  const p = profile ? PROFILES[profile] : undefined;
  // --slo-* targets only mean something to the design-targets verdict, so giving one selects it.
  const sloGiven = ['slo-read-ops', 'slo-write-ops', 'slo-p99-ms'].some(
    (k) => f[k as keyof BenchFlags] !== undefined,
  );
  const verdict = (f.verdict ?? (sloGiven ? 'design-targets' : 'check-perf')) as VerdictName;
  if (!VERDICTS.includes(verdict))
    throw new ConfigError(
      'verdict',
      `must be one of ${VERDICTS.join(', ')}, got ${JSON.stringify(f.verdict)}`,
    );
  if (verdict === 'check-perf' && sloGiven)
    throw new ConfigError('verdict', '--slo-* targets apply to --verdict design-targets only');
  const duration =
    f.duration !== undefined ? parseFlagDuration(f.duration) : p ? PROFILE_DURATION_MS : undefined;
  const consistency = f.consistency ?? 'l';
  if (consistency !== 'l' && consistency !== 's')
    throw new ConfigError('consistency', 'must be l (linearizable) or s (serializable)');
  const client = f.client ?? 'lean';
  if (client !== 'lean' && client !== 'etcd3') throw new ConfigError('client', 'must be lean or etcd3');
  const clients = f.clients ?? p?.clients ?? BENCH_DEFAULTS.clients;
  return {
    endpoints: cluster.endpoints,
    tls: cluster.tls,
    workload: p ? 'write' : parseWorkload(f.type ?? 'write'),
    ops: f.ops ?? (duration === undefined ? BENCH_DEFAULTS.ops : undefined),
    durationMs: duration,
    clients,
    // check perf gives every client its own connection.
    conns: f.conns ?? (p ? clients : Math.min(BENCH_DEFAULTS.conns, clients)),
    keySize: f['key-size'] ?? (p ? PROFILE_KEY_SIZE : BENCH_DEFAULTS.keySize),
    valSize: f['val-size'] ?? (p ? PROFILE_VAL_SIZE : BENCH_DEFAULTS.valSize),
    keySpace: f['key-space'] ?? (p ? 2 ** 40 : BENCH_DEFAULTS.keySpace),
    sequentialKeys: f['sequential-keys'] ?? false,
    consistency,
    rate: f.rate ?? p?.limit,
    // Unset: the run's own /etcd-monitor/bench/<run-id>/.
    prefix: f.prefix,
    compact: f.compact ?? false,
    discoverMembers: cluster.discoverMembers,
    ...benchAuth(cluster),
    client,
    workers: f.workers ?? BENCH_DEFAULTS.workers,
    readRatio: f['read-ratio'] ?? BENCH_DEFAULTS.readRatio,
    slo: {
      readOpsPerSec: f['slo-read-ops'] ?? DEFAULT_SLO.readOpsPerSec,
      writeOpsPerSec: f['slo-write-ops'] ?? DEFAULT_SLO.writeOpsPerSec,
      p99Ms: f['slo-p99-ms'] ?? DEFAULT_SLO.p99Ms,
      maxErrorRatio: DEFAULT_SLO.maxErrorRatio,
    },
    verdict,
    profile,
    dialTimeoutMs: config.dialTimeoutMs,
    // A benchmark call may queue behind many others; the exporter's 3 s probe deadline would turn load into errors.
    requestTimeoutMs: Math.max(config.requestTimeoutMs, 30_000),
  };
}

/** Resolves the exporter configuration (flags > env > file > defaults) for a subcommand. */
export function configFromFlags(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): MonitorConfig {
  return resolveConfig({ flags, env });
}
