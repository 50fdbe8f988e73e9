// What each process of a distributed benchmark hands the coordinator (under <prefix>_coord/result/<i>), and
// how the coordinator merges them: counts and errors added, HDR histograms added bucket by bucket (the
// compressed base64 encoding of HdrHistogram carries every bucket count, so the merge loses nothing the
// processes' own histograms had), throughput summed, percentiles read from the merged histogram.
import { decodeFromCompressedBase64, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { LatencyRecorder } from './latency.js';
import type { LoadOutcome, OpOutcome } from './load.js';
import type { BenchCleanup } from './prefix.js';
import { summarizeRun, type BenchmarkResult, type LeftOutMember } from './result.js';
import type { BenchOptions } from './spec.js';

/** One operation type of one process, exactly: counts, errors by gRPC code, its histogram (µs). */
export interface EncodedOp {
  succeeded: number;
  /** [gRPC status code, calls] pairs. */
  errors: Array<[number, number]>;
  lastError?: string;
  /** HdrHistogram compressed base64 (the V2 encoding HdrHistogram's Java/Go/JS libraries share). */
  histogram: string;
}

/** A process's load outcome as stored under result/<i>. */
export interface EncodedOutcome {
  startedAt: string;
  elapsedMs: number;
  cpuMicros: number;
  eventLoopUtilization: number;
  read: EncodedOp;
  write: EncodedOp;
}

export type ProcessStatus = 'completed' | 'interrupted' | 'stopped' | 'failed';

/** What process i reports: printed by it (`--output json`) and stored for the coordinator. */
export interface ProcessReport {
  index: number;
  host: string;
  pid: number;
  status: ProcessStatus;
  /** Why it did not complete (a stable code, src/util/errors.ts). */
  error?: { code: string; message: string };
  /** Its own summary (its cleanup is the coordinator's, so it has none). */
  result?: Omit<BenchmarkResult, 'cleanup'>;
  outcome?: EncodedOutcome;
}

/** The coordinator's report: the merged run plus every process's own report. */
export type DistributedResult = BenchmarkResult & { processes: ProcessReport[] };

function encodeOp(op: OpOutcome): EncodedOp {
  op.recorder.flush();
  return {
    succeeded: op.succeeded,
    errors: [...op.errors],
    ...(op.lastError !== undefined ? { lastError: op.lastError } : {}),
    histogram: encodeIntoCompressedBase64(op.recorder.histogram),
  };
}

export function encodeOutcome(out: LoadOutcome): EncodedOutcome {
  return {
    startedAt: out.startedAt.toISOString(),
    elapsedMs: out.elapsedMs,
    cpuMicros: out.cpuMicros,
    eventLoopUtilization: out.eventLoopUtilization,
    read: encodeOp(out.read),
    write: encodeOp(out.write),
  };
}

/** Adds `enc` into `into` (counts, errors and histogram buckets). */
function addOp(into: OpOutcome, enc: EncodedOp): void {
  into.succeeded += enc.succeeded;
  for (const [code, n] of enc.errors) into.errors.set(code, (into.errors.get(code) ?? 0) + n);
  if (enc.lastError !== undefined) into.lastError = enc.lastError;
  if (enc.histogram) into.recorder.histogram.add(decodeFromCompressedBase64(enc.histogram));
}

/**
 * The merged load outcome of several processes. Histograms and counts add exactly; the run's duration is
 * the longest process's (their clocks need not agree, so no span across machines is computed); calls per
 * second are the sum of each process's own (`opsPerSec`), which is what N machines together sustained.
 */
export function mergeOutcomes(outs: readonly EncodedOutcome[]): LoadOutcome {
  const op = (): OpOutcome => ({ recorder: new LatencyRecorder(), succeeded: 0, errors: new Map() });
  const merged: LoadOutcome = {
    startedAt: new Date(Math.min(...outs.map((o) => Date.parse(o.startedAt)))),
    elapsedMs: Math.max(...outs.map((o) => o.elapsedMs)),
    read: op(),
    write: op(),
    cpuMicros: 0,
    eventLoopUtilization: 0,
    opsPerSec: { read: 0, write: 0 },
  };
  for (const o of outs) {
    addOp(merged.read, o.read);
    addOp(merged.write, o.write);
    merged.cpuMicros += o.cpuMicros;
    merged.eventLoopUtilization = Math.max(merged.eventLoopUtilization, o.eventLoopUtilization);
    const seconds = o.elapsedMs / 1000;
    merged.opsPerSec!.read += seconds > 0 ? o.read.succeeded / seconds : 0;
    merged.opsPerSec!.write += seconds > 0 ? o.write.succeeded / seconds : 0;
  }
  return merged;
}

/** The combined report of a run whose every process completed (`reports` in index order). */
export function combineReports(
  o: BenchOptions,
  runId: string,
  prefix: string,
  reports: readonly ProcessReport[],
  etcdVersion: string | null,
  cleanup: BenchCleanup,
  leftOut: LeftOutMember[] = [],
): DistributedResult {
  const outcomes = reports.map((r) => r.outcome!);
  const result = summarizeRun(o, runId, prefix, mergeOutcomes(outcomes), etcdVersion, cleanup, leftOut);
  // The encoding keeps every bucket count but not the exact extremes (a decoded histogram's max is its
  // bucket's top, up to 0.1 % above): take them from the processes' own summaries, which are exact.
  const extremes = (
    pick: (r: Omit<BenchmarkResult, 'cleanup'>) => BenchmarkResult['latency'] | undefined,
  ) => {
    const seen = reports.map((r) => (r.result ? pick(r.result) : undefined)).filter((l) => l && l.count > 0);
    return seen.length === 0
      ? undefined
      : { minMs: Math.min(...seen.map((l) => l!.minMs)), maxMs: Math.max(...seen.map((l) => l!.maxMs)) };
  };
  for (const op of ['read', 'write'] as const) {
    const target = result.operations[op];
    const exact = extremes((r) => r.operations[op]?.latency);
    if (target && exact) target.latency = { ...target.latency, ...exact };
  }
  const overall = extremes((r) => r.latency);
  if (overall) result.latency = { ...result.latency, ...overall };
  // Conditions: the load came from every process's clients and connections, on every process's cores.
  const sum = (f: (c: BenchmarkResult['conditions']) => number): number =>
    reports.reduce((a, r) => a + (r.result ? f(r.result.conditions) : 0), 0);
  result.conditions.clients = sum((c) => c.clients);
  result.conditions.conns = sum((c) => c.conns);
  result.conditions.clientCores = sum((c) => c.clientCores);
  result.conditions.endpoints = [...new Set(reports.flatMap((r) => r.result?.conditions.endpoints ?? []))];
  return { ...result, processes: [...reports] };
}
