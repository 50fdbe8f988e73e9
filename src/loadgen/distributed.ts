import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Etcd3, type Lease } from 'etcd3';
import { MonitorError, describeError, errorCode } from '../util/errors.js';
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

// One benchmark spread over N processes (machines, pods of an Indexed Job) that coordinate through the
// target etcd itself, only under the run's prefix (<prefix>_coord/, distributed-plan.ts):
//   1. process 0 (the coordinator) checks the prefix is empty and claims it: `open`, on its lease;
//      the others wait for `open`, compare its plan with their own options and join (`proc/<i>`).
//   2. each populates its share of the read key space, then marks itself ready; once all N are ready
//      the coordinator writes `start` and every process starts its load on seeing it.
//   3. each writes `result/<i>` (counts, errors, HDR histograms); a process that fails or is interrupted
//      writes `stop` too, and every other process ends its load on seeing it.
//   4. the coordinator waits for every result (or gives up on a process after the deadline, or once its
//      lease expired), merges them, then deletes everything under the prefix — only after every process
//      that joined has reported, so no process still writes while the prefix is deleted.
// Every write of a non-coordinator is a transaction guarded by `open`'s create revision: once the
// coordinator deleted the prefix (or died and its lease expired), nothing can be written there again.

/** Lease of `open` and `proc/<i>`: a process that dies leaves the barrier within this many seconds. */
const LEASE_TTL_S = 20;
/** Polls of the start key (a process starts within one poll of the others), of stop and of results. */
const START_POLL_MS = 50;
const POLL_MS = 200;

export interface DistributedOptions {
  processes: number;
  index: number;
  /** How long the processes wait for each other: for `open`, at the start barrier, for results. */
  barrierTimeoutMs: number;
}

export type DistributedOutcome =
  { kind: 'coordinator'; result: DistributedResult } | { kind: 'process'; report: ProcessReport };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

class Coordination {
  readonly keys;
  /** The coordinator's random id of this attempt: keys of an older attempt under the same prefix are ignored. */
  token: string = randomUUID();
  openRevision = '0';
  leaseId = '';
  lease: Lease;
  stopped: { code: string; message: string } | undefined;

  constructor(
    readonly admin: Etcd3,
    prefix: string,
    readonly d: DistributedOptions,
  ) {
    this.keys = coordKeys(prefix);
    this.lease = admin.lease(LEASE_TTL_S);
    // A lost lease shows as this process missing at the coordinator; nothing to do here.
    this.lease.on('lost', () => undefined);
  }

  /** Puts `key` only while the run is open (its `open` key is the one this process saw). */
  async put(key: string, value: unknown, leased = false): Promise<void> {
    const put = this.admin.put(key).value(JSON.stringify(value));
    if (leased) put.lease(this.leaseId);
    const res = await this.admin.if(this.keys.open, 'Create', '==', this.openRevision).then(put).commit();
    if (!res.succeeded)
      throw new MonitorError(
        'BENCH_COORDINATOR_LOST',
        `the run under ${JSON.stringify(this.keys.root)} is no longer open (process 0 finished, failed or died)`,
      );
  }

  async get<T>(key: string): Promise<T | undefined> {
    const text = await this.admin.get(key).string();
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  /** Every coordination key at one revision: presences and results of this run (its token). */
  async snapshot(): Promise<{ presences: Map<number, Presence>; results: Map<number, ProcessReport> }> {
    const all = await this.admin.getAll().prefix(this.keys.root).strings();
    const presences = new Map<number, Presence>();
    const results = new Map<number, ProcessReport>();
    for (const [key, text] of Object.entries(all)) {
      const p = indexOfKey(key, this.keys.procs);
      const r = indexOfKey(key, this.keys.results);
      const value = JSON.parse(text) as { token?: string };
      if (value.token !== this.token) continue;
      if (p !== undefined) presences.set(p, value as Presence);
      if (r !== undefined) results.set(r, value as ProcessReport & { token: string });
    }
    return { presences, results };
  }
}

/** Waits for `check` to return a value, polling every `pollMs` until `deadline` (epoch ms). */
async function poll<T>(
  check: () => Promise<T | undefined>,
  deadline: number,
  pollMs: number,
  signal: AbortSignal,
): Promise<T | undefined> {
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() >= deadline || signal.aborted) return undefined;
    await sleep(pollMs);
  }
}

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
    await c.put(
      c.keys.proc(d.index),
      { token: c.token, state: 'joined', host: os.hostname(), pid: process.pid },
      true,
    );
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

/** Polls `stop` (and, for a non-coordinator, `open`) while the load runs; aborts `stop` when either says so. */
function watchStop(c: Coordination, d: DistributedOptions, stop: AbortController): () => void {
  let done = false;
  void (async () => {
    while (!done && !stop.signal.aborted) {
      try {
        const s = await c.get<{ token: string; by: number; code: string; message: string }>(c.keys.stop);
        if (s && s.token === c.token) {
          c.stopped = { code: s.code, message: `process ${s.by}: ${s.message}` };
          stop.abort();
        } else if (d.index !== 0 && !(await c.admin.get(c.keys.open).exists())) {
          c.stopped = { code: 'BENCH_COORDINATOR_LOST', message: 'process 0 is gone (its lease expired)' };
          stop.abort();
        }
      } catch {
        // etcd briefly unreachable: the load itself counts those errors; try again.
      }
      await sleep(POLL_MS);
    }
  })();
  return () => {
    done = true;
  };
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
  let stored: unknown;
  await c.put(c.keys.result(d.index), { token: c.token, ...report }).catch((err: unknown) => (stored = err));
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

/** The start barrier: mark this process ready, then wait for `start` (the coordinator writes it). */
async function startBarrier(
  c: Coordination,
  d: DistributedOptions,
  signal: AbortSignal,
  deadline: number,
): Promise<void> {
  await c.put(
    c.keys.proc(d.index),
    { token: c.token, state: 'ready', host: os.hostname(), pid: process.pid },
    true,
  );
  const stopped = (): MonitorError =>
    new MonitorError(
      c.stopped?.code ?? 'BENCH_STOPPED',
      `stopped at the start barrier: ${c.stopped?.message ?? 'interrupted'}`,
    );
  if (d.index === 0) {
    for (;;) {
      if (signal.aborted) throw stopped();
      const { presences } = await c.snapshot();
      const decision = barrierDecision(d.processes, c.token, presences, Date.now() >= deadline);
      if (decision.kind === 'start') break;
      if (decision.kind === 'fail') {
        const parts = [];
        if (decision.neverJoined.length) parts.push(`${nameIndices(decision.neverJoined)} never joined`);
        if (decision.notReady.length)
          parts.push(
            `${nameIndices(decision.notReady)} joined but did not get ready (populating the key space)`,
          );
        throw new MonitorError(
          'BENCH_PROCESS_MISSING',
          `start barrier: ${parts.join('; ')} within ${d.barrierTimeoutMs / 1000} s (--barrier-timeout); missing: ${decision.neverJoined
            .concat(decision.notReady)
            .sort((a, b) => a - b)
            .join(',')}`,
        );
      }
      await sleep(POLL_MS / 2);
    }
    await c.put(c.keys.start, { token: c.token, at: new Date().toISOString() });
    return;
  }
  // A little longer than the coordinator waits, so its verdict (stop) arrives first.
  const started = await poll(
    async () => ((await c.get<{ token: string }>(c.keys.start))?.token === c.token ? true : undefined),
    deadline + 10_000,
    START_POLL_MS,
    signal,
  );
  if (signal.aborted) throw stopped();
  if (!started)
    throw new MonitorError(
      'BENCH_COORDINATOR_LOST',
      `process 0 did not start the run within ${d.barrierTimeoutMs / 1000} s`,
    );
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
      await sleep(POLL_MS);
      continue;
    }
    reports = snap.results;
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
