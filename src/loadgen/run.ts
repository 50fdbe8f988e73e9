import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { build } from 'hdr-histogram-js';
import { Etcd3 } from 'etcd3';
import type { TlsFiles } from '../config/types.js';
import { ConfigError, GRPC_STATUS_NAMES, MonitorError, describeError } from '../util/errors.js';
import { benchEndpoints, discoverMembers } from '../etcd/discover.js';
import { loadTlsMaterial } from '../etcd/tls-material.js';
import { connectEtcd3, etcd3Options } from './etcd3-transport.js';
import {
  assertPrefixEmpty,
  BenchInterruptedError,
  cleanupPrefix,
  runPrefix,
  type BenchCleanup,
} from './prefix.js';
import { maxKeyNumber } from '../protocol/protobuf/kv.js';
import { summarize as summarizeLatency, type LatencySummary, type LatencyRecorder } from './latency.js';
import { runLoad, type LoadOutcome, type LoadSpec, type Workload } from './load.js';
import { runLoadInWorkers } from './parallel.js';
import { judgeProfile, judgeSlo, type ProfileName, type SloTargets, type SloVerdict } from './slo.js';
import { connectLean, type ConnectSpec, type PayloadSpec, type Transport } from './transport.js';

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
  slo: SloTargets;
  profile?: ProfileName;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  onProgress?: (completed: number, expected: number | undefined, elapsedMs: number) => void;
  onLatencyBatch?: (op: 'read' | 'write', micros: Float64Array, count: number) => void;
}

export {
  assertPrefixEmpty,
  BENCH_PREFIX_ROOT,
  BenchInterruptedError,
  cleanupPrefix,
  defaultBenchPrefix,
  runPrefix,
  type BenchCleanup,
} from './prefix.js';

/** Result of one operation type within a run. */
export interface OpResult {
  successful: number;
  failed: number;
  throughput: number;
  latency: LatencySummary;
  errors: Record<string, number>;
}

/** A finished run as printed, stored as a JSON line and exposed as metrics. */
export interface BenchmarkResult {
  runId: string;
  type: Workload;
  profile?: ProfileName;
  startedAt: string;
  finishedAt: string;
  /** The conditions the numbers hold for. */
  conditions: {
    endpoints: string[];
    client: 'lean' | 'etcd3';
    workers: number;
    clients: number;
    conns: number;
    keySize: number;
    valSize: number;
    keySpace: number;
    sequentialKeys: boolean;
    consistency: 'l' | 's';
    rate: number | null;
    readRatio: number;
    prefix: string;
    tls: boolean;
    clientCores: number;
    etcdVersion: string | null;
    loop: 'closed' | 'open (latency from intended start)';
  };
  durationSeconds: number;
  total: number;
  successful: number;
  failed: number;
  throughput: number;
  latency: LatencySummary;
  operations: { read?: OpResult; write?: OpResult };
  errorsByCode: Record<string, number>;
  lastError: string | null;
  clientCpu: { microsPerOp: number; eventLoopUtilization: number };
  slo: SloVerdict & { targets: SloTargets | string };
  cleanup: BenchCleanup;
}

/** Name of a gRPC status code (`UNAVAILABLE` for 14). */
export function grpcCodeName(code: number): string {
  return (GRPC_STATUS_NAMES as readonly string[])[code] ?? `CODE_${code}`;
}

/** Largest request the lean path sends (etcd's default HTTP/2 stream window is 64 KiB). */
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

function connectSpec(o: BenchOptions): ConnectSpec {
  return {
    endpoints: o.endpoints,
    conns: o.conns,
    tls: o.tls,
    dialTimeoutMs: o.dialTimeoutMs,
    requestTimeoutMs: o.requestTimeoutMs,
  };
}

function payloadSpec(o: BenchOptions, prefix: Buffer): PayloadSpec {
  return { prefix, keySize: o.keySize, valSize: o.valSize, serializable: o.consistency === 's' };
}

function connect(o: BenchOptions, prefix: Buffer): Promise<Transport> {
  const spec = connectSpec(o);
  const payload = payloadSpec(o, prefix);
  return o.client === 'etcd3' ? connectEtcd3(spec, payload) : connectLean(spec, payload);
}

/** Opens an admin connection to `o.endpoints` and refuses a prefix that holds keys (API pre-check). */
export async function checkPrefixEmpty(o: BenchOptions): Promise<void> {
  const admin = new Etcd3(etcd3Options(o.endpoints, o, false));
  try {
    await assertPrefixEmpty(admin, runPrefix(o, ''));
  } finally {
    admin.close();
  }
}

/**
 * Runs one benchmark: checks the prefix is empty, populates the key space for reads, runs the load on
 * the chosen client path, then deletes exactly the keys under the prefix — also when the run failed
 * or was interrupted. Compacts only with `compact`.
 */
export async function runBenchmark(options: BenchOptions): Promise<BenchmarkResult> {
  validateBenchOptions(options);
  const o = options.discoverMembers ? { ...options, endpoints: await discoveredEndpoints(options) } : options;
  const runId = o.runId ?? randomUUID();
  const prefixText = runPrefix(o, runId);
  const prefix = Buffer.from(prefixText, 'utf8');
  // etcd3 for everything that is not the hot loop: version, prefix checks, cleanup.
  const admin = new Etcd3(etcd3Options(o.endpoints, o, false));
  try {
    const etcdVersion = await admin.maintenance
      .status()
      .then((s) => s.version)
      .catch(() => null);
    await assertPrefixEmpty(admin, prefixText);
    // From here on the prefix is this run's: whatever happens next, it is deleted at the end.
    let outcome: LoadOutcome | undefined;
    let failure: unknown;
    try {
      outcome = await measure(o, prefix);
    } catch (err) {
      failure = err;
    }
    let cleanup: BenchCleanup;
    try {
      // An interrupted or failed run is only cleaned up: compaction is for a finished run asked for it.
      const compact = Boolean(o.compact) && failure === undefined && !o.signal?.aborted;
      cleanup = await cleanupPrefix(admin, prefix, { compact });
    } catch (err) {
      if (failure === undefined && !o.signal?.aborted) throw err;
      throw new MonitorError(
        'BENCH_CLEANUP_FAILED',
        `${o.signal?.aborted ? 'interrupted' : describeError(failure)}; and its keys could not be deleted (${describeError(err)}): delete them with etcdctl del --prefix ${JSON.stringify(prefixText)}`,
        { cause: failure ?? err },
      );
    }
    if (failure !== undefined) throw failure;
    if (o.signal?.aborted)
      throw new BenchInterruptedError(
        prefixText,
        cleanup,
        `benchmark interrupted; deleted its ${cleanup.deletedKeys} keys under ${JSON.stringify(prefixText)}`,
      );
    return summarize(o, runId, prefixText, outcome!, etcdVersion, cleanup);
  } finally {
    admin.close();
  }
}

/** Every voting member's client URL, from the member list of the first seed that answers. */
async function discoveredEndpoints(o: BenchOptions): Promise<string[]> {
  const tls = loadTlsMaterial(o.tls);
  const found = await discoverMembers(o.endpoints, {
    ...(tls ? { tls } : {}),
    ...(o.auth ? { auth: o.auth } : {}),
    dialTimeoutMs: o.dialTimeoutMs,
    requestTimeoutMs: Math.min(o.requestTimeoutMs, 10_000),
  });
  const endpoints = benchEndpoints(found);
  if (endpoints.length === 0)
    throw new MonitorError(
      'BENCH_NO_MEMBERS',
      `the member list from ${found.answeredBy} names no voting member with a client URL`,
    );
  return endpoints;
}

/** Populates the key space (read and mixed runs) and runs the measured load. */
async function measure(o: BenchOptions, prefix: Buffer): Promise<LoadOutcome> {
  const transport = await connect(o, prefix);
  const workers = Math.max(1, Math.min(o.workers ?? 1, o.conns));
  const load: LoadSpec = {
    workload: o.workload,
    ops: o.ops,
    durationMs: o.durationMs,
    clients: o.clients,
    keySpace: o.keySpace,
    sequentialKeys: o.sequentialKeys,
    rate: o.rate,
    readRatio: o.readRatio,
    signal: o.signal,
    onProgress: o.onProgress ? (done, ms) => o.onProgress?.(done, o.ops, ms) : undefined,
    onLatencyBatch: o.onLatencyBatch,
  };
  try {
    if (o.workload !== 'write') {
      // The keys the reads hit, under the run's own prefix.
      const fill = await runLoad(transport, {
        workload: 'write',
        ops: o.keySpace,
        clients: o.clients,
        keySpace: o.keySpace,
        sequentialKeys: true,
        readRatio: 0,
        signal: o.signal,
      });
      if (fill.write.errors.size > 0) {
        throw new MonitorError(
          'BENCH_POPULATE_FAILED',
          `populating ${o.keySpace} keys failed: ${fill.write.lastError ?? 'errors'}`,
        );
      }
    }
    if (workers > 1) {
      // The measured phase gets fresh connections owned by the worker threads.
      await transport.close();
      return await runLoadInWorkers({
        workers,
        connect: connectSpec(o),
        payload: payloadSpec(o, prefix),
        client: o.client,
        load,
      });
    }
    return await runLoad(transport, load);
  } finally {
    await transport.close();
  }
}

function opResult(op: LoadOutcome['read'], seconds: number): OpResult {
  let failed = 0;
  const errors: Record<string, number> = {};
  for (const [code, n] of op.errors) {
    failed += n;
    errors[grpcCodeName(code)] = n;
  }
  return {
    successful: op.succeeded,
    failed,
    throughput: op.succeeded / seconds,
    latency: op.recorder.summary(),
    errors,
  };
}

function combined(a: LatencyRecorder, b: LatencyRecorder): LatencySummary {
  const h = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  h.add(a.histogram);
  h.add(b.histogram);
  return summarizeLatency(h);
}

function summarize(
  o: BenchOptions,
  runId: string,
  prefix: string,
  out: LoadOutcome,
  etcdVersion: string | null,
  cleanup: BenchCleanup,
): BenchmarkResult {
  const seconds = out.elapsedMs / 1000;
  const read = opResult(out.read, seconds);
  const write = opResult(out.write, seconds);
  const successful = read.successful + write.successful;
  const failed = read.failed + write.failed;
  const errorsByCode: Record<string, number> = {};
  for (const r of [read, write])
    for (const [k, v] of Object.entries(r.errors)) errorsByCode[k] = (errorsByCode[k] ?? 0) + v;
  const latency = combined(out.read.recorder, out.write.recorder);
  const throughput = successful / seconds;
  const slo = o.profile
    ? {
        ...judgeProfile(o.profile, {
          opsPerSec: throughput,
          failed,
          maxMs: latency.maxMs,
          stddevMs: latency.stddevMs,
        }),
        targets: `etcdctl check perf --load=${o.profile}`,
      }
    : {
        ...judgeSlo(
          {
            workload: o.workload,
            readRatio: o.readRatio,
            readOpsPerSec: read.throughput,
            writeOpsPerSec: write.throughput,
            totalOpsPerSec: throughput,
            p99Ms: latency.p99Ms,
            failed,
            total: successful + failed,
          },
          o.slo,
        ),
        targets: o.slo,
      };
  return {
    runId,
    type: o.workload,
    ...(o.profile ? { profile: o.profile } : {}),
    startedAt: out.startedAt.toISOString(),
    finishedAt: new Date(out.startedAt.getTime() + out.elapsedMs).toISOString(),
    conditions: {
      endpoints: [...o.endpoints],
      client: o.client,
      workers: Math.max(1, Math.min(o.workers ?? 1, o.conns)),
      clients: o.clients,
      conns: o.conns,
      keySize: o.keySize,
      valSize: o.valSize,
      keySpace: o.keySpace,
      sequentialKeys: o.sequentialKeys,
      consistency: o.consistency,
      rate: o.rate ?? null,
      readRatio: o.readRatio,
      prefix,
      tls: o.endpoints.some((e) => e.startsWith('https://')) || Boolean(o.tls?.caFile),
      clientCores: os.cpus().length,
      etcdVersion,
      loop: o.rate ? 'open (latency from intended start)' : 'closed',
    },
    durationSeconds: seconds,
    total: successful + failed,
    successful,
    failed,
    throughput,
    latency,
    operations: {
      ...(o.workload !== 'write' ? { read } : {}),
      ...(o.workload !== 'read' ? { write } : {}),
    },
    errorsByCode,
    lastError: out.read.lastError ?? out.write.lastError ?? null,
    clientCpu: {
      microsPerOp: successful + failed > 0 ? out.cpuMicros / (successful + failed) : 0,
      eventLoopUtilization: out.eventLoopUtilization,
    },
    slo,
    cleanup,
  };
}
