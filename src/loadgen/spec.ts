// What one load-generator run is asked to do, and the checks it must pass before it starts.
// options.ts builds a BenchOptions from flags and config; run.ts runs it; result.ts reports on it.
import type { TlsFiles } from '../config/types.js';
import { ConfigError } from '../util/errors.js';
import { maxKeyNumber } from '../protocol/protobuf/kv.js';
import type { Workload } from './load.js';
import type { ProfileName, SloTargets, VerdictName } from './slo.js';

/** Everything one benchmark run needs; validated by `validateBenchOptions`. */
export interface BenchOptions {
  endpoints: readonly string[];
  tls?: TlsFiles;
  workload: Workload;
  ops?: number;
  durationMs?: number;
  clients: number;
  conns: number;
  keySize: number;
  valSize: number;
  keySpace: number;
  sequentialKeys: boolean;
  consistency: 'l' | 's';
  rate?: number;
  /**
   * A user-chosen prefix for every key of the run; it must be empty before the run and is range-deleted
   * after it. Default: `/etcd-monitor/bench/<runId>/`.
   */
  prefix?: string;
  /** Names the default prefix; a fresh UUID when absent. */
  runId?: string;
  /**
   * Compact the cluster at the cleanup's delete revision. Compaction is cluster-wide: every key's
   * older revisions go, not only the run's, so it happens only when the user asks for it.
   */
  compact?: boolean;
  /**
   * Treat `endpoints` as seeds: the load goes to every voting member's advertised client URL from the
   * member list (as `etcdctl --cluster`), not only to the endpoints given.
   */
  discoverMembers?: boolean;
  /** etcd credentials for the member list (clusters with authentication on). */
  auth?: { username: string; password: string };
  /** Aborting ends the run early (Ctrl-C, SIGTERM, exporter shutdown); its keys are still deleted. */
  signal?: AbortSignal;
  client: 'lean' | 'etcd3';
  /** Threads running the measured loop (each owns conns/workers connections); 1 = this thread. */
  workers?: number;
  readRatio: number;
  /** Targets of the `design-targets` verdict. */
  slo: SloTargets;
  /** Which rules judge the run (slo.ts VERDICTS); default `check-perf`. */
  verdict?: VerdictName;
  profile?: ProfileName;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  onProgress?: (completed: number, expected: number | undefined, elapsedMs: number) => void;
  onLatencyBatch?: (op: 'read' | 'write', micros: Float64Array, count: number) => void;
}

/**
 * Largest request the lean path sends: one HTTP/2 stream window (etcd's default is 64 KiB, 65,535
 * bytes) less gRPC's 5-byte message prefix. The lean connection does not split a message across window
 * updates, so a larger one would fail every call (protocol/h2/streams.ts `submit`).
 */
export const LEAN_MAX_MESSAGE = 65_535 - 5;

/** Rejects option combinations that cannot produce a meaningful run. */
export function validateBenchOptions(o: BenchOptions): void {
  const positiveInt = (v: number, name: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(name, `must be a positive integer, got ${v}`);
  };
  if (o.endpoints.length === 0) throw new ConfigError('endpoints', 'at least one endpoint is required');
  // An empty prefix would make the cleanup's range delete cover the whole keyspace.
  if (o.prefix !== undefined && o.prefix.length === 0)
    throw new ConfigError('prefix', 'must not be empty (the run deletes everything under it afterwards)');
  positiveInt(o.clients, 'clients');
  positiveInt(o.conns, 'conns');
  positiveInt(o.keySize, 'key-size');
  positiveInt(o.keySpace, 'key-space');
  if (!Number.isInteger(o.valSize) || o.valSize < 0)
    throw new ConfigError('val-size', `must be >= 0, got ${o.valSize}`);
  if (o.ops !== undefined) positiveInt(o.ops, 'ops');
  if (o.durationMs !== undefined && !(o.durationMs > 0))
    throw new ConfigError('duration', 'must be positive');
  if (o.ops === undefined && o.durationMs === undefined)
    throw new ConfigError('ops', 'give --ops or --duration');
  if (o.rate !== undefined && !(o.rate > 0)) throw new ConfigError('rate', 'must be positive');
  if (o.conns > o.clients)
    throw new ConfigError('conns', `more connections (${o.conns}) than clients (${o.clients})`);
  if (o.keySpace - 1 > maxKeyNumber(o.keySize))
    throw new ConfigError('key-space', `${o.keySpace} keys do not fit in ${o.keySize}-byte keys`);
  if (o.readRatio < 0 || o.readRatio > 1) throw new ConfigError('read-ratio', 'must be between 0 and 1');
  const message = Buffer.byteLength(o.prefix ?? '') + o.keySize + o.valSize + 16;
  if (o.client === 'lean' && message > LEAN_MAX_MESSAGE) {
    throw new ConfigError(
      'val-size',
      `requests of ~${message} bytes exceed what the lean client sends in one flow-control window (${LEAN_MAX_MESSAGE}); use --client etcd3`,
    );
  }
}
