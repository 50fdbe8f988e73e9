import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Etcd3, Lease } from 'etcd3';
import { MonitorError } from '../util/errors.js';
import { barrierDecision, coordKeys, indexOfKey, nameIndices, type Presence } from './distributed-plan.js';
import type { ProcessReport } from './distributed-merge.js';

// The coordination primitives of a distributed benchmark (distributed.ts) on the target etcd: guarded puts
// under <prefix>_coord/, one-revision snapshots of presences and results, the start barrier, and the
// watch for `stop`. Polling, not etcd watches: before the start it costs a few small ranges per second per
// process, during the load one range of `stop` every 200 ms — nothing next to the load itself.
/** Lease of `open` and `proc/<i>`: a process that dies leaves the barrier within this many seconds. */
export const LEASE_TTL_S = 20;
/** Polls of the start key (a process starts within one poll of the others), of stop and of results. */
export const START_POLL_MS = 50;
export const POLL_MS = 200;

export interface DistributedOptions {
  processes: number;
  index: number;
  /** How long the processes wait for each other: for `open`, at the start barrier, for results. */
  barrierTimeoutMs: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export class Coordination {
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
    if (!res.succeeded) throw this.closed();
  }

  /**
   * Joins as process `index`: its presence key, on this process's lease, only while the run is open and
   * only if no other process holds that index (two pods with one index would count one process twice).
   */
  async join(index: number, presence: Presence): Promise<void> {
    const key = this.keys.proc(index);
    const res = await this.admin
      .if(this.keys.open, 'Create', '==', this.openRevision)
      .and(key, 'Create', '==', 0)
      .then(this.admin.put(key).value(JSON.stringify(presence)).lease(this.leaseId))
      .commit();
    if (res.succeeded) return;
    const holder = await this.get<Presence>(key);
    if (holder)
      throw new MonitorError(
        'BENCH_INDEX_TAKEN',
        `process index ${index} is already taken in this run (by pid ${holder.pid} on ${holder.host}); every process needs its own --process-index; wrote nothing`,
      );
    throw this.closed();
  }

  private closed(): MonitorError {
    return new MonitorError(
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
export async function poll<T>(
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

/** Polls `stop` (and, for a non-coordinator, `open`) while the load runs; aborts `stop` when either says so. */
export function watchStop(c: Coordination, d: DistributedOptions, stop: AbortController): () => void {
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

/** The start barrier: mark this process ready, then wait for `start` (the coordinator writes it). */
export async function startBarrier(
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
