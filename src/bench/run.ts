import os from 'node:os';
import { build } from 'hdr-histogram-js';
import { Etcd3 } from 'etcd3';
import type { TlsFiles } from '../config/types.js';
import { ConfigError, MonitorError, describeError } from '../util/errors.js';
import { connectEtcd3, etcd3Options } from './etcd3-transport.js';
import { maxKeyNumber } from './etcd-proto.js';
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
  /** Keys live under this prefix, which must be empty before and is deleted and compacted after. */
  prefix?: string;
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
    prefix: string | null;
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
  cleanup: { prefix: string; deletedKeys: number; compactedRevision: number } | null;
}

const GRPC_CODE_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** Name of a gRPC status code (`UNAVAILABLE` for 14). */
export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? `CODE_${code}`;
}

/** Largest request the lean path sends (etcd's default HTTP/2 stream window is 64 KiB). */
export const LEAN_MAX_MESSAGE = 65_535 - 5;

/** Rejects option combinations that cannot produce a meaningful run. */
export function validateBenchOptions(o: BenchOptions): void {
  const positiveInt = (v: number, name: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(name, `must be a positive integer, got ${v}`);
  };
  if (o.endpoints.length === 0) throw new ConfigError('endpoints', 'at least one endpoint is required');
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

function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * Runs one benchmark: checks the prefix is empty, populates the key space for reads, runs the load on
 * the chosen client path, then deletes the prefix and compacts at the delete revision.
 */
export async function runBenchmark(o: BenchOptions): Promise<BenchmarkResult> {
  validateBenchOptions(o);
  const prefix = Buffer.from(o.prefix ?? '', 'utf8');
  // etcd3 for everything that is not the hot loop: version, prefix checks, cleanup.
  const admin = new Etcd3(etcd3Options(o.endpoints, o, false));
  try {
    const etcdVersion = await admin.maintenance
      .status()
      .then((s) => s.version)
      .catch(() => null);
    if (o.prefix) {
      const existing = Number(await admin.getAll().prefix(prefix.toString('latin1')).count());
      if (existing > 0) {
        throw new MonitorError(
          'BENCH_PREFIX_NOT_EMPTY',
          `prefix ${JSON.stringify(o.prefix)} already holds ${existing} keys; it is deleted after a run, so it must start empty`,
        );
      }
    }
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
      onProgress: o.onProgress ? (done, ms) => o.onProgress?.(done, o.ops, ms) : undefined,
      onLatencyBatch: o.onLatencyBatch,
    };
    let outcome: LoadOutcome;
    try {
      if (o.workload !== 'write') {
        const fill = await runLoad(transport, {
          workload: 'write',
          ops: o.keySpace,
          clients: o.clients,
          keySpace: o.keySpace,
          sequentialKeys: true,
          readRatio: 0,
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
        outcome = await runLoadInWorkers({
          workers,
          connect: connectSpec(o),
          payload: payloadSpec(o, prefix),
          client: o.client,
          load,
        });
      } else outcome = await runLoad(transport, load);
    } finally {
      await transport.close();
    }
    const cleanup = o.prefix ? await cleanupPrefix(admin, prefix) : null;
    return summarize(o, outcome, etcdVersion, cleanup);
  } finally {
    admin.close();
  }
}

/** Deletes every key under `prefix` and compacts at the delete revision (physical, so history is gone). */
export async function cleanupPrefix(
  admin: Etcd3,
  prefix: Buffer,
): Promise<{ prefix: string; deletedKeys: number; compactedRevision: number }> {
  try {
    const res = await admin.kv.deleteRange({ key: prefix, range_end: prefixEnd(prefix) });
    const revision = Number(res.header.revision);
    await admin.kv.compact({ revision: String(revision), physical: true }).catch((err: unknown) => {
      // A concurrent compaction past this revision already removed the history we want gone.
      if (!/required revision has been compacted/.test(describeError(err))) throw err;
    });
    return { prefix: prefix.toString('utf8'), deletedKeys: Number(res.deleted), compactedRevision: revision };
  } catch (err) {
    throw new MonitorError(
      'BENCH_CLEANUP_FAILED',
      `deleting and compacting prefix ${prefix.toString('utf8')}: ${describeError(err)}`,
      { cause: err },
    );
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
  out: LoadOutcome,
  etcdVersion: string | null,
  cleanup: BenchmarkResult['cleanup'],
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
      prefix: o.prefix ?? null,
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
