import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from './latency.js';
import type { ClientHandle, Transport } from './transport.js';
import type { UnaryCallback } from '../protocol/h2/call.js';

/** Benchmark workloads: puts, point reads, or a 70/30 read/write mix. */
export type Workload = 'write' | 'read' | 'mixed';
export const WORKLOADS: readonly Workload[] = ['write', 'read', 'mixed'];

export interface LoadSpec {
  workload: Workload;
  /** Stop after this many calls (closed or open loop); at least one of ops/durationMs is set. */
  ops?: number;
  durationMs?: number;
  clients: number;
  keySpace: number;
  /** Writes use key numbers 0,1,2,... (mod keySpace) instead of random ones. */
  sequentialKeys: boolean;
  /** Sequential key i is `keyOffset + i * keyStride` (workers interleave their sequences). */
  keyOffset?: number;
  keyStride?: number;
  /** Open-loop arrival rate in calls/s; latency is measured from each call's intended start. */
  rate?: number;
  /** Share of reads in the mixed workload. */
  readRatio: number;
  /** Called about twice a second with calls completed so far. */
  onProgress?: (completed: number, elapsedMs: number) => void;
  /** Receives each batch of latencies (µs) per operation, e.g. for Prometheus histograms. */
  onLatencyBatch?: (op: 'read' | 'write', micros: Float64Array, count: number) => void;
  /** Latencies only go to onLatencyBatch (no local histogram). */
  latencySinkOnly?: boolean;
  /**
   * Aborting stops issuing calls; the run resolves once the calls in flight have answered, so a
   * cleanup that follows never races a write of this run.
   */
  signal?: AbortSignal;
}

/** Outcome of one operation type. */
export interface OpOutcome {
  recorder: LatencyRecorder;
  succeeded: number;
  /** Failed calls by gRPC status code (14 = UNAVAILABLE, 4 = DEADLINE_EXCEEDED, ...). */
  errors: Map<number, number>;
  lastError?: string;
}

export interface LoadOutcome {
  startedAt: Date;
  elapsedMs: number;
  read: OpOutcome;
  write: OpOutcome;
  /** Client process CPU spent during the run, in microseconds. */
  cpuMicros: number;
  /** Event-loop utilization of the client during the run (0..1); near 1 means the client was the bottleneck. */
  eventLoopUtilization: number;
  /**
   * Successful calls per second when they are not `succeeded / elapsed`: several processes merged
   * (distributed-merge.ts), where it is the sum of each process's own.
   */
  opsPerSec?: { read: number; write: number };
}

function opOutcome(op: 'read' | 'write', spec: LoadSpec): OpOutcome {
  const sink = spec.onLatencyBatch;
  return {
    recorder: new LatencyRecorder(
      sink ? (m, c) => sink(op, m, c) : undefined,
      spec.latencySinkOnly && sink !== undefined,
    ),
    succeeded: 0,
    errors: new Map(),
  };
}

/** Runs the load against connected transport clients and resolves when every call has completed. */
export function runLoad(transport: Transport, spec: LoadSpec): Promise<LoadOutcome> {
  if (spec.ops === undefined && spec.durationMs === undefined)
    throw new Error('runLoad needs ops or durationMs');
  const read = opOutcome('read', spec);
  const write = opOutcome('write', spec);
  const total = spec.ops ?? Number.POSITIVE_INFINITY;
  const interval = spec.rate ? 1000 / spec.rate : 0;
  let issued = 0;
  let completed = 0;
  let active = 0;
  let seq = 0;
  const keyOffset = spec.keyOffset ?? 0;
  const keyStride = spec.keyStride ?? 1;
  let stopped = false;
  const startedAt = new Date();
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const deadline = spec.durationMs === undefined ? Number.POSITIVE_INFINITY : t0 + spec.durationMs;
  const idle: Array<{ next(now: number): void }> = [];
  let tick: NodeJS.Timeout | undefined;

  return new Promise((resolve) => {
    const progress = spec.onProgress
      ? setInterval(() => spec.onProgress?.(completed, performance.now() - t0), 500)
      : undefined;
    progress?.unref();

    const finish = (): void => {
      spec.signal?.removeEventListener('abort', onAbort);
      if (tick) clearTimeout(tick);
      if (progress) clearInterval(progress);
      const elapsedMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      read.recorder.flush();
      write.recorder.flush();
      resolve({
        startedAt,
        elapsedMs,
        read,
        write,
        cpuMicros: cpu.user + cpu.system,
        eventLoopUtilization: performance.eventLoopUtilization(elu0).utilization,
      });
    };

    /** Next call's intended start time, or undefined when no call is due (or the run is over). */
    const nextDue = (now: number): number | undefined => {
      if (stopped || issued >= total || now >= deadline) {
        stopped = true;
        return undefined;
      }
      if (!interval) return now;
      const intended = t0 + issued * interval;
      return intended <= now ? intended : undefined;
    };

    class Client {
      private isWrite = false;
      private start = 0;
      readonly done: UnaryCallback = (status, message) => {
        const end = performance.now();
        const out = this.isWrite ? write : read;
        if (status === 0) {
          out.succeeded++;
          out.recorder.record(end - this.start);
        } else {
          out.errors.set(status, (out.errors.get(status) ?? 0) + 1);
          out.lastError = message;
        }
        completed++;
        this.next(end);
      };

      constructor(private readonly handle: ClientHandle) {}

      next(now: number): void {
        const due = nextDue(now);
        if (due === undefined) {
          if (!stopped && interval) {
            idle.push(this);
            return;
          }
          if (--active === 0) finish();
          return;
        }
        issued++;
        this.start = due;
        const w = spec.workload === 'write' || (spec.workload === 'mixed' && Math.random() >= spec.readRatio);
        this.isWrite = w;
        if (w) {
          const n =
            spec.sequentialKeys && spec.workload === 'write'
              ? (keyOffset + keyStride * seq++) % spec.keySpace
              : Math.floor(Math.random() * spec.keySpace);
          this.handle.put(n, this.done);
        } else this.handle.get(Math.floor(Math.random() * spec.keySpace), this.done);
      }
    }

    const clients = Array.from({ length: spec.clients }, (_, i) => new Client(transport.client(i)));
    active = clients.length;
    function onAbort(): void {
      stopped = true;
      // Idle open-loop clients wait on the timer; run it now so they leave at once.
      if (interval) {
        if (tick) clearTimeout(tick);
        dispatch();
      }
    }
    if (spec.signal?.aborted) stopped = true;
    else spec.signal?.addEventListener('abort', onAbort, { once: true });
    if (!interval) {
      for (const c of clients) c.next(performance.now());
      return;
    }
    // Open loop: a timer hands due calls to idle clients; calls that find no idle client wait, and
    // that wait counts in their latency because it is measured from the intended start.
    idle.push(...clients);
    dispatch();

    function dispatch(): void {
      const now = performance.now();
      while (
        idle.length > 0 &&
        !stopped &&
        issued < total &&
        now < deadline &&
        t0 + issued * interval <= now
      ) {
        idle.pop()!.next(now);
      }
      if (stopped || issued >= total || now >= deadline) {
        stopped = true;
        const waiting = idle.splice(0);
        active -= waiting.length;
        if (active === 0) finish();
        return;
      }
      tick = setTimeout(dispatch, Math.max(1, t0 + issued * interval - now));
    }
  });
}
