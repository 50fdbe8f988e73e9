import { build, encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import {
  barrierDecision,
  collectDecision,
  coordKeys,
  indexOfKey,
  nameIndices,
  planDifferences,
  processShare,
  runPlan,
  validateDistributed,
  type Presence,
} from '../../src/loadgen/distributed-plan.js';
import {
  combineReports,
  mergeOutcomes,
  type EncodedOp,
  type EncodedOutcome,
  type ProcessReport,
} from '../../src/loadgen/distributed-merge.js';
import { summarize } from '../../src/loadgen/latency.js';
import { DEFAULT_SLO } from '../../src/loadgen/slo.js';
import type { BenchOptions } from '../../src/loadgen/spec.js';
import { summarizeRun } from '../../src/loadgen/result.js';
import { LatencyRecorder } from '../../src/loadgen/latency.js';
import { writeKeyNumber } from '../../src/protocol/protobuf/kv.js';

// The decisions of a distributed benchmark on plain data: shares, the start barrier, result collection,
// and the exact merge of the processes' histograms.

const options: BenchOptions = {
  endpoints: ['http://127.0.0.1:2379'],
  workload: 'mixed',
  ops: 10_001,
  clients: 8,
  conns: 2,
  keySize: 8,
  valSize: 64,
  keySpace: 1000,
  sequentialKeys: false,
  consistency: 'l',
  client: 'lean',
  readRatio: 0.7,
  slo: DEFAULT_SLO,
  dialTimeoutMs: 1000,
  requestTimeoutMs: 1000,
};

describe('shares of the run', () => {
  it.each([1, 2, 3, 7])('%i processes: --ops and the key space are split without loss or overlap', (n) => {
    const shares = Array.from({ length: n }, (_, i) => processShare({ ...options, rate: 3000 }, n, i));
    expect(shares.reduce((a, s) => a + s.ops!, 0)).toBe(10_001);
    expect(
      Math.max(...shares.map((s) => s.ops!)) - Math.min(...shares.map((s) => s.ops!)),
    ).toBeLessThanOrEqual(1);
    expect(shares.reduce((a, s) => a + s.rate!, 0)).toBeCloseTo(3000, 9);
    // Process i populates key numbers i, i+n, ...: together exactly 0..keySpace-1, each once.
    const filled = shares.flatMap((s) =>
      Array.from({ length: s.fillKeys }, (_, j) => s.keyOffset + j * s.keyStride),
    );
    expect(filled.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, k) => k));
  });

  it('a key space smaller than the number of processes leaves the last ones nothing to populate', () => {
    expect([0, 1, 2, 3].map((i) => processShare({ keySpace: 2 }, 4, i).fillKeys)).toEqual([1, 1, 0, 0]);
  });

  it('coordination keys never collide with workload keys (a varint key number never starts with "_")', () => {
    const k = coordKeys('/etcd-monitor/bench/r/');
    expect(k.proc(2)).toBe('/etcd-monitor/bench/r/_coord/proc/2');
    const key = Buffer.alloc(16);
    for (const n of [0, 1, 47, 48, 95, 300, 2 ** 20, 2 ** 40]) {
      key.fill(0);
      writeKeyNumber(key, 0, 16, n);
      expect(key[0]).not.toBe('_'.charCodeAt(0));
    }
    expect(indexOfKey(k.result(12), k.results)).toBe(12);
    expect(indexOfKey(`${k.results}012`, k.results)).toBeUndefined();
    expect(indexOfKey(k.start, k.results)).toBeUndefined();
  });

  it('the plan: every process must agree on what is measured, not on its own clients', () => {
    const mine = runPlan({ ...options, clients: 64 }, 3);
    expect(planDifferences(mine, runPlan(options, 3))).toEqual([]);
    expect(
      planDifferences(runPlan({ ...options, ops: 500, workload: 'read' }, 2), runPlan(options, 3)),
    ).toEqual([
      'processes: 2 here, 3 at process 0',
      'workload: "read" here, "mixed" at process 0',
      'ops: 500 here, 10001 at process 0',
    ]);
  });

  it.each([
    [{ processes: 0, index: 0 }, 'processes'],
    [{ processes: 3, index: 3, runId: 'a' }, 'process-index'],
    [{ processes: 3, index: -1, runId: 'a' }, 'process-index'],
    [{ processes: 3, index: 1 }, 'run-id'],
    [{ processes: 3, index: 1, runId: 'a/b' }, 'run-id'],
    [{ processes: 3, index: 1, runId: 'a', ops: 2 }, 'ops'],
  ])('%j is refused naming --%s', (d, field) => {
    expect(() => validateDistributed(d)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field }));
  });
});

describe('start barrier and result collection', () => {
  const p = (token: string, state: Presence['state']): Presence => ({ token, state });

  it('starts only when all N processes of this run are ready', () => {
    const all = new Map([
      [0, p('t', 'ready')],
      [1, p('t', 'ready')],
      [2, p('t', 'ready')],
    ]);
    expect(barrierDecision(3, 't', all, false)).toEqual({ kind: 'start' });
    const stale = new Map(all).set(2, p('older-attempt', 'ready'));
    expect(barrierDecision(3, 't', stale, false)).toEqual({ kind: 'wait', notReady: [2] });
    // An index out of range (a process started with a larger --processes) does not count.
    const extra = new Map(all).set(3, p('t', 'ready'));
    extra.delete(1);
    expect(barrierDecision(3, 't', extra, false)).toEqual({ kind: 'wait', notReady: [1] });
  });

  it('past the deadline it names who never joined and who is still populating', () => {
    const some = new Map([
      [0, p('t', 'ready')],
      [2, p('t', 'joined')],
    ]);
    expect(barrierDecision(4, 't', some, true)).toEqual({ kind: 'fail', neverJoined: [1, 3], notReady: [2] });
    expect(nameIndices([1, 3])).toBe('processes 1 and 3');
    expect(nameIndices([2])).toBe('process 2');
  });

  it('collects until every result is in; gives up on a dead process at once and on a slow one at the deadline', () => {
    const s = (...xs: number[]) => new Set(xs);
    expect(collectDecision(3, s(0, 1, 2), s(0), false)).toEqual({ kind: 'done' });
    expect(collectDecision(3, s(0, 1), s(0, 2), false)).toEqual({ kind: 'wait', pending: [2] });
    expect(collectDecision(3, s(0, 1), s(0, 2), true)).toEqual({ kind: 'fail', missing: [2] });
    // Process 2's lease expired without a result: it died; nothing left to wait for.
    expect(collectDecision(3, s(0, 1), s(0), false)).toEqual({ kind: 'fail', missing: [2] });
    // One dead, one still running: wait for the running one first.
    expect(collectDecision(4, s(0, 1), s(0, 3), false)).toEqual({ kind: 'wait', pending: [2, 3] });
  });
});

describe('merging the processes exactly', () => {
  /** A deterministic latency sample (whole µs, as the recorder rounds them), skewed like real ones. */
  const sample = (seed: number, n: number): number[] =>
    Array.from({ length: n }, (_, i) => 200 + Math.round(((i * 7919 + seed * 104_729) % 997) ** 2 / 10));

  function encoded(values: number[], errors: Array<[number, number]> = []): EncodedOp {
    const rec = new LatencyRecorder();
    for (const us of values) rec.record(us / 1000);
    rec.flush();
    return { succeeded: values.length, errors, histogram: encodeIntoCompressedBase64(rec.histogram) };
  }
  const outcome = (seed: number, elapsedMs: number): EncodedOutcome => ({
    startedAt: new Date(1_800_000_000_000 + seed).toISOString(),
    elapsedMs,
    cpuMicros: 1000,
    eventLoopUtilization: 0.1 * seed,
    read: encoded(sample(seed, 700 + seed)),
    write: encoded(sample(seed + 10, 300 + seed), [[14, seed]]),
  });

  it('histograms add bucket by bucket: the merge equals one histogram of all latencies', () => {
    const outs = [outcome(1, 10_000), outcome(2, 10_100), outcome(3, 9_900)];
    const merged = mergeOutcomes(outs);
    const truth = build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 3_600_000_000,
      numberOfSignificantValueDigits: 3,
    });
    for (const seed of [1, 2, 3]) for (const us of sample(seed, 700 + seed)) truth.recordValue(us);
    // Every bucket count survives the encoding; only the exact max does not (a decoded histogram's max
    // is its bucket's top, within 0.1 %): combineReports takes the extremes from the processes' summaries.
    // Mean and deviation are sums of floats over the buckets: equal up to rounding.
    const { maxMs, avgMs, stddevMs, ...buckets } = summarize(truth);
    const got = summarize(merged.read.recorder.histogram);
    expect(got).toMatchObject(buckets);
    expect(got.avgMs).toBeCloseTo(avgMs, 9);
    expect(got.stddevMs).toBeCloseTo(stddevMs, 9);
    expect(got.maxMs).toBeGreaterThanOrEqual(maxMs);
    expect(got.maxMs).toBeLessThanOrEqual(maxMs * 1.001);
    expect(merged.read.succeeded).toBe(700 * 3 + 6);
    expect([...merged.write.errors]).toEqual([[14, 6]]);
    // Throughput: the sum of each process's own; duration: the longest; start: the earliest.
    expect(merged.opsPerSec!.read).toBeCloseTo(701 / 10 + 702 / 10.1 + 703 / 9.9, 9);
    expect(merged.elapsedMs).toBe(10_100);
    expect(merged.startedAt.toISOString()).toBe(outs[0]!.startedAt);
    expect(merged.eventLoopUtilization).toBeCloseTo(0.3, 9);
  });

  it('the combined report sums throughput and clients, keeps the exact extremes and every process row', () => {
    const outs = [outcome(1, 10_000), outcome(2, 10_100)];
    const cleanup = { prefix: '/p/', deletedKeys: 3, deleteRevision: 9, compactedRevision: null };
    const reports: ProcessReport[] = outs.map((out, index) => {
      // Each process's own summary, as it computes it before encoding.
      const own = mergeOutcomes([out]);
      delete own.opsPerSec;
      const { cleanup: _c, ...result } = summarizeRun(options, 'r', '/p/', own, '3.5.0', cleanup);
      return { index, host: `h${index}`, pid: 100 + index, status: 'completed', result, outcome: out };
    });
    const r = combineReports({ ...options, rate: 2000 }, 'r', '/p/', reports, '3.5.0', cleanup);
    expect(r.throughput).toBeCloseTo(reports[0]!.result!.throughput + reports[1]!.result!.throughput, 9);
    expect(r.operations.write!.throughput).toBeCloseTo(
      reports[0]!.result!.operations.write!.throughput + reports[1]!.result!.operations.write!.throughput,
      9,
    );
    expect(r.total).toBe(reports[0]!.result!.total + reports[1]!.result!.total);
    expect(r.errorsByCode).toEqual({ UNAVAILABLE: 3 });
    expect(r.conditions).toMatchObject({ clients: 16, conns: 4, rate: 2000 });
    expect(r.latency.maxMs).toBe(Math.max(...reports.map((x) => x.result!.latency.maxMs)));
    expect(r.latency.minMs).toBe(Math.min(...reports.map((x) => x.result!.latency.minMs)));
    expect(r.processes.map((x) => x.host)).toEqual(['h0', 'h1']);
    expect(r.cleanup).toBe(cleanup);
  });
});
