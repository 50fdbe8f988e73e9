import os from 'node:os';
import { Etcd3 } from 'etcd3';
import { MonitorError, describeError, errorCode } from '../util/errors.js';
import {
  Coordination,
  POLL_MS,
  poll,
  sleep,
  startBarrier,
  watchStop,
  type DistributedOptions,
} from './coord.js';
import {
  collectDecision,
  nameIndices,
  planDifferences,
  processShare,
  runPlan,
  validateDistributed,
  type RunPlan,
} from './distributed-plan.js';
import {
  combineReports,
  encodeOutcome,
  type DistributedResult,
  type ProcessReport,
} from './distributed-merge.js';
import { etcd3Options } from './etcd3-transport.js';
import type { LoadOutcome } from './load.js';
import {
  assertPrefixEmpty,
  BenchInterruptedError,
  cleanupPrefix,
  runPrefix,
  type BenchCleanup,
} from './prefix.js';
import { summarizeRun } from './result.js';
import { benchTargets, measure } from './run.js';
import { validateBenchOptions, type BenchOptions } from './spec.js';

export type { DistributedOptions } from './coord.js';

/** What a process ends with: the coordinator the merged run, the others their own report. */
export type DistributedOutcome =
  { kind: 'coordinator'; result: DistributedResult } | { kind: 'process'; report: ProcessReport };

// One benchmark spread over N processes (machines, pods of an Indexed Job) that coordinate through the
// target etcd itself, only under the run's prefix (<prefix>_coord/, distributed-plan.ts):
//   1. process 0 (the coordinator) checks the prefix is empty and claims it: `open`, on its lease;
//      the others wait for `open`, compare its plan with their own options and join (`proc/<i>`).
//   2. each populates its share of the read key space, then marks itself ready; once all N are ready
//      the coordinator writes `start` and every process starts its load on seeing it.
//   3. each but 0 writes `result/<i>` (counts, errors, HDR histograms); a process that fails or is interrupted
//      writes `stop` too, and every other process ends its load on seeing it.
//   4. the coordinator waits for every result (or gives up on a process after the deadline, or once its
//      lease expired), merges them, then deletes everything under the prefix — only after every process
//      that joined has reported, so no process still writes while the prefix is deleted.
// Every write of a non-coordinator is a transaction guarded by `open`'s create revision: once the
// coordinator deleted the prefix (or died and its lease expired), nothing can be written there again.

/**
 * Runs process `d.index` of a benchmark spread over `d.processes` processes that share `options.runId`
 * (so the prefix). The coordinator (index 0) returns the merged result after deleting every key under
 * the prefix; the others return their own report once it is stored for the coordinator.
 */
export async function runDistributed(
  options: BenchOptions & { runId: string },
  d: DistributedOptions,
): Promise<DistributedOutcome> {
  validateBenchOptions(options);
  validateDistributed({ processes: d.processes, index: d.index, runId: options.runId, ops: options.ops });
  const targets = await benchTargets(options);
  const o = { ...options, endpoints: targets.endpoints };
  const prefixText = runPrefix(o, o.runId);
  const admin = new Etcd3(etcd3Options(o.endpoints, o, false));
  const c = new Coordination(admin, prefixText, d);
  const coordinator = d.index === 0;
  const plan = runPlan(o, d.processes);
  // Aborted by this process's signal or by another's `stop`.
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  o.signal?.addEventListener('abort', onSignal, { once: true });
  try {
    const etcdVersion = await admin.maintenance
      .status()
      .then((s) => s.version)
      .catch(() => null);
    c.leaseId = await c.lease.grant();
    const barrierDeadline = Date.now() + d.barrierTimeoutMs;
    if (coordinator) {
      await assertPrefixEmpty(admin, prefixText);
      const res = await admin
        .if(c.keys.open, 'Create', '==', 0)
        .then(
          admin
            .put(c.keys.open)
            .value(JSON.stringify({ token: c.token, plan, host: os.hostname() }))
            .lease(c.leaseId),
        )
        .commit();
      if (!res.succeeded)
        throw new MonitorError(
          'BENCH_PREFIX_NOT_EMPTY',
          `another run opened ${JSON.stringify(prefixText)} first`,
        );
      c.openRevision = String(res.header.revision);
    } else {
      const open = await poll(
        async () => (await admin.getAll().prefix(c.keys.open).exec()).kvs[0],
        barrierDeadline,
        POLL_MS,
        stop.signal,
      );
      if (stop.signal.aborted)
        throw new BenchInterruptedError(
          prefixText,
          undefined,
          'interrupted before the run opened; wrote nothing',
        );
      if (!open)
        throw new MonitorError(
          'BENCH_COORDINATOR_MISSING',
          `process 0 did not open the run under ${JSON.stringify(prefixText)} within ${d.barrierTimeoutMs / 1000} s (is it running, with the same --run-id/--prefix and endpoints?); wrote nothing`,
        );
      const theirs = JSON.parse(open.value.toString()) as { token: string; plan: RunPlan };
      const diff = planDifferences(plan, theirs.plan);
      if (diff.length > 0)
        throw new MonitorError(
          'BENCH_PLAN_MISMATCH',
          `process ${d.index} disagrees with process 0: ${diff.join('; ')}; wrote nothing`,
        );
      c.openRevision = open.create_revision;
      c.token = theirs.token;
    }
    // From here on this process may write under the prefix; it reports on every path below.
    await c.join(d.index, { token: c.token, state: 'joined', host: os.hostname(), pid: process.pid });
    return await runAndReport(o, c, d, stop, {
      prefixText,
      etcdVersion,
      barrierDeadline,
      leftOut: targets.leftOut,
    });
  } finally {
    o.signal?.removeEventListener('abort', onSignal);
    await c.lease.revoke().catch(() => undefined);
    admin.close();
  }
}

async function runAndReport(
  o: BenchOptions & { runId: string },
  c: Coordination,
  d: DistributedOptions,
  stop: AbortController,
  ctx: {
    prefixText: string;
    etcdVersion: string | null;
    barrierDeadline: number;
    leftOut: DistributedResult['membersLeftOut'];
  },
): Promise<DistributedOutcome> {
  const coordinator = d.index === 0;
  const share = processShare(o, d.processes, d.index);
  const mine: BenchOptions = { ...o, ops: share.ops, rate: share.rate, signal: stop.signal };
  const endWatch = watchStop(c, d, stop);
  let outcome: LoadOutcome | undefined;
  let failure: unknown;
  try {
    outcome = await measure(mine, Buffer.from(ctx.prefixText, 'utf8'), {
      keyOffset: share.keyOffset,
      keyStride: share.keyStride,
      fillKeys: share.fillKeys,
      ready: () => startBarrier(c, d, stop.signal, ctx.barrierDeadline),
    });
  } catch (err) {
    failure = err;
  } finally {
    endWatch();
  }
  const interrupted = o.signal?.aborted === true;
  const report: ProcessReport = {
    index: d.index,
    host: os.hostname(),
    pid: process.pid,
    status: interrupted
      ? 'interrupted'
      : failure !== undefined
        ? 'failed'
        : stop.signal.aborted
          ? 'stopped'
          : 'completed',
  };
  if (report.status === 'interrupted')
    report.error = { code: 'BENCH_INTERRUPTED', message: 'interrupted by a signal' };
  else if (report.status === 'stopped' || (failure !== undefined && c.stopped))
    report.error = c.stopped ?? { code: 'BENCH_STOPPED', message: 'stopped' };
  else if (failure !== undefined)
    report.error = { code: errorCode(failure), message: describeError(failure) };
  if (report.error && c.stopped && report.status === 'failed') report.status = 'stopped';
  if (outcome) {
    const placeholder: BenchCleanup = {
      prefix: ctx.prefixText,
      deletedKeys: 0,
      deleteRevision: 0,
      compactedRevision: null,
    };
    const { cleanup: _unused, ...result } = summarizeRun(
      mine,
      o.runId,
      ctx.prefixText,
      outcome,
      ctx.etcdVersion,
      placeholder,
      ctx.leftOut,
    );
    report.result = result;
    report.outcome = encodeOutcome(outcome);
  }
  // Tell the others to end their load: this process will not deliver a full share.
  if (report.status === 'interrupted' || report.status === 'failed')
    await c.put(c.keys.stop, { token: c.token, by: d.index, ...report.error }).catch(() => undefined);
  // The coordinator keeps its own report in memory; the others store theirs for it.
  let stored: unknown;
  if (!coordinator)
    await c
      .put(c.keys.result(d.index), { token: c.token, ...report })
      .catch((err: unknown) => (stored = err));
  if (!coordinator) {
    if (report.status === 'interrupted')
      throw new BenchInterruptedError(
        ctx.prefixText,
        undefined,
        `process ${d.index} interrupted; told the others to stop; process 0 deletes the run's keys under ${JSON.stringify(ctx.prefixText)}`,
      );
    if (stored !== undefined) throw stored;
    if (report.error)
      throw new MonitorError(report.error.code, `process ${d.index}: ${report.error.message}`, {
        cause: failure,
      });
    return { kind: 'process', report };
  }
  return { kind: 'coordinator', result: await finish(o, c, d, report, failure, ctx) };
}

/** The coordinator's end: stop the others when needed, collect every result, delete the prefix, merge. */
async function finish(
  o: BenchOptions & { runId: string },
  c: Coordination,
  d: DistributedOptions,
  own: ProcessReport,
  ownFailure: unknown,
  ctx: { prefixText: string; etcdVersion: string | null; leftOut: DistributedResult['membersLeftOut'] },
): Promise<DistributedResult> {
  if (own.status !== 'completed' && !c.stopped)
    await c.put(c.keys.stop, { token: c.token, by: 0, ...own.error }).catch(() => undefined);
  const deadline = Date.now() + d.barrierTimeoutMs;
  let reports = new Map<number, ProcessReport>();
  let missing: number[] = [];
  for (;;) {
    let snap;
    try {
      snap = await c.snapshot();
    } catch {
      // etcd unreachable: keep trying until the deadline, then give up on whoever has not reported.
      if (Date.now() >= deadline) {
        missing = Array.from({ length: d.processes }, (_, i) => i).filter((i) => i > 0 && !reports.has(i));
        break;
      }
      await sleep(POLL_MS);
      continue;
    }
    reports = snap.results.set(0, own);
    if ([...reports.values()].some((r) => r.status !== 'completed') && !c.stopped) {
      const first = [...reports.values()].find((r) => r.status !== 'completed')!;
      c.stopped = { code: first.error?.code ?? 'BENCH_STOPPED', message: `process ${first.index}` };
      await c.put(c.keys.stop, { token: c.token, by: first.index, ...first.error }).catch(() => undefined);
    }
    const decision = collectDecision(
      d.processes,
      new Set(reports.keys()),
      new Set(snap.presences.keys()),
      Date.now() >= deadline,
    );
    if (decision.kind === 'done') break;
    if (decision.kind === 'fail') {
      missing = decision.missing;
      break;
    }
    await sleep(POLL_MS);
  }
  const sorted = [...reports.values()]
    .sort((a, b) => a.index - b.index)
    .map(({ token: _t, ...r }: ProcessReport & { token?: string }) => r);
  const allCompleted = missing.length === 0 && sorted.every((r) => r.status === 'completed');
  let cleanup: BenchCleanup;
  try {
    cleanup = await cleanupPrefix(c.admin, Buffer.from(ctx.prefixText, 'utf8'), {
      compact: Boolean(o.compact) && allCompleted && !o.signal?.aborted,
    });
  } catch (err) {
    throw new MonitorError(
      'BENCH_CLEANUP_FAILED',
      `the run's keys could not be deleted (${describeError(err)}): delete them with etcdctl del --prefix ${JSON.stringify(ctx.prefixText)}`,
      { cause: err },
    );
  }
  const deleted = `deleted the run's ${cleanup.deletedKeys} keys under ${JSON.stringify(ctx.prefixText)}`;
  if (o.signal?.aborted)
    throw new BenchInterruptedError(
      ctx.prefixText,
      cleanup,
      `benchmark interrupted; told the other processes to stop; ${deleted}`,
    );
  if (ownFailure instanceof MonitorError && ownFailure.code === 'BENCH_PROCESS_MISSING')
    throw new MonitorError(ownFailure.code, `${ownFailure.message}; ${deleted}`, { cause: ownFailure });
  if (missing.length > 0)
    throw new MonitorError(
      'BENCH_RESULT_MISSING',
      `no result from ${nameIndices(missing)} within ${d.barrierTimeoutMs / 1000} s of process 0's end (or its lease expired: the process died); missing: ${missing.join(',')}; ${deleted}`,
    );
  const bad = sorted.filter((r) => r.status === 'interrupted' || r.status === 'failed');
  if (bad.length > 0)
    throw new MonitorError(
      'BENCH_PROCESS_FAILED',
      `${bad.map((r) => `process ${r.index} ${r.status} (${r.error?.code}: ${r.error?.message})`).join('; ')}; the others were stopped; ${deleted}`,
    );
  if (ownFailure !== undefined) throw ownFailure;
  return combineReports(o, o.runId, ctx.prefixText, sorted, ctx.etcdVersion, cleanup, ctx.leftOut);
}
