// A finished run as the user sees it: per-operation counts, latency, client cost and the SLO verdict,
// summarized from the load loop's raw outcome (load.ts). Printed (report.ts), stored (store.ts) and
// exposed as metrics (metrics.ts).
import os from 'node:os';
import { build } from 'hdr-histogram-js';
import { grpcCodeName } from '../protocol/grpc/status.js';
import { summarize as summarizeLatency, type LatencySummary, type LatencyRecorder } from './latency.js';
import type { LoadOutcome, Workload } from './load.js';
import type { BenchCleanup } from './prefix.js';
import {
  judgeCheckPerf,
  judgeSlo,
  PROFILES,
  type ProfileName,
  type SloTargets,
  type SloVerdict,
  type VerdictName,
} from './slo.js';
import type { BenchOptions } from './spec.js';

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
  conditions: Pick<
    BenchOptions,
    'client' | 'clients' | 'conns' | 'keySize' | 'valSize' | 'keySpace' | 'sequentialKeys' | 'consistency'
  > & {
    endpoints: string[];
    workers: number;
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
  slo: SloVerdict & { verdict: VerdictName; targets: SloTargets | string };
  /**
   * Voting members of the member list that did not answer before the run, so carried no load: the run
   * measured the others (run.ts `benchTargets`). Empty when every member answered.
   */
  membersLeftOut: LeftOutMember[];
  cleanup: BenchCleanup;
}

/** A member the run left out, with the error code it failed with (src/util/errors.ts). */
export interface LeftOutMember {
  name: string;
  id: string;
  endpoint: string;
  code: string;
  error: string;
}

function opResult(op: LoadOutcome['read'], seconds: number, opsPerSec?: number): OpResult {
  let failed = 0;
  const errors: Record<string, number> = {};
  for (const [code, n] of op.errors) {
    failed += n;
    errors[grpcCodeName(code)] = n;
  }
  return {
    successful: op.succeeded,
    failed,
    throughput: opsPerSec ?? op.succeeded / seconds,
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

/** The result of run `runId` from its load outcome, its conditions and its cleanup. */
export function summarizeRun(
  o: BenchOptions,
  runId: string,
  prefix: string,
  out: LoadOutcome,
  etcdVersion: string | null,
  cleanup: BenchCleanup,
  membersLeftOut: LeftOutMember[] = [],
): BenchmarkResult {
  const seconds = out.elapsedMs / 1000;
  const read = opResult(out.read, seconds, out.opsPerSec?.read);
  const write = opResult(out.write, seconds, out.opsPerSec?.write);
  const successful = read.successful + write.successful;
  const failed = read.failed + write.failed;
  const errorsByCode: Record<string, number> = {};
  for (const r of [read, write])
    for (const [k, v] of Object.entries(r.errors)) errorsByCode[k] = (errorsByCode[k] ?? 0) + v;
  const latency = combined(out.read.recorder, out.write.recorder);
  const throughput = out.opsPerSec ? read.throughput + write.throughput : successful / seconds;
  const verdict: VerdictName = o.verdict ?? 'check-perf';
  const limit = o.profile ? PROFILES[o.profile].limit : o.rate;
  const slo =
    verdict === 'check-perf'
      ? {
          ...judgeCheckPerf(limit, {
            opsPerSec: throughput,
            failed,
            maxMs: latency.maxMs,
            stddevMs: latency.stddevMs,
          }),
          verdict,
          targets: o.profile
            ? `etcdctl check perf --load=${o.profile}`
            : limit !== undefined
              ? `etcdctl check perf criteria, limit ${limit} ops/s (--rate)`
              : 'etcdctl check perf criteria, closed loop (no throughput limit)',
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
          verdict,
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
    membersLeftOut,
    cleanup,
  };
}
