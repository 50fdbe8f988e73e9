import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { MonitorError } from '../../util/errors.js';

/** Thrown when the queue of pending bcrypt comparisons is full; answered with 429. */
export class AuthBusyError extends MonitorError {
  constructor() {
    super('AUTH_BUSY', 'too many password checks in progress; retry shortly');
  }
}

/**
 * bcryptjs is pure JS: its async compare still blocks the event loop for up to 100 ms per slice
 * (MAX_EXECUTION_TIME in bcryptjs), and a cost-10 compare is one such slice. On the main thread, 16 connections
 * sending wrong passwords took /metrics from P99 3.5 ms to 7.9 s (perf/results/auth-flood.md, "before").
 * So comparisons run on one worker thread, one at a time (as exporter-toolkit serialises them with its
 * bcryptMtx), and at most `maxQueued` wait: the main thread only posts messages and stays free for scrapes.
 *
 * Off the event loop is not enough: a worker busy all the time still takes a whole core from the process's
 * share of the machine (its CPU quota in a container, its autogroup on a desktop kernel), and the event loop then
 * waits for the CPU behind it. So after each comparison the worker rests `restFactor` times as long as it took:
 * with DEFAULT_DUTY = 0.25 bcrypt uses at most a quarter of one core (≈3.5 wrong guesses a second at cost 10),
 * whatever the flood. The answer is posted before the rest, so a single check is not slowed down.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
try {
  // Linux: setpriority() on a thread id renices that thread only (see setpriority(2), "BUGS"), so the event
  // loop of the same process goes first.
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) require('node:os').setPriority(tid, 19);
} catch {
  // Not Linux, or no /proc: bcrypt runs at normal priority, still off the event loop.
}
const jobs = [];
let busy = false;
function next() {
  const job = jobs.shift();
  if (job === undefined) {
    busy = false;
    return;
  }
  busy = true;
  const started = performance.now();
  let ok = false;
  try { ok = bcrypt.compareSync(job.password, job.hash); } catch { ok = false; }
  parentPort.postMessage({ id: job.id, ok });
  setTimeout(next, (performance.now() - started) * workerData.restFactor);
}
parentPort.on('message', (job) => {
  jobs.push(job);
  if (!busy) next();
});
`;

/** 16 flood connections keep at most 16 in the queue; past 32 a newcomer gets 429 at once instead of waiting. */
export const DEFAULT_MAX_QUEUED = 32;
/** Share of one core bcrypt may use at most (see above). */
export const DEFAULT_DUTY = 0.25;

export class BcryptQueue {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (ok: boolean | Error) => void>();

  constructor(
    private readonly maxQueued = DEFAULT_MAX_QUEUED,
    private readonly duty = DEFAULT_DUTY,
  ) {}

  /** Comparisons queued or running now. */
  get depth(): number {
    return this.pending.size;
  }

  /** Resolves with whether `password` matches `hash`; rejects with AuthBusyError when the queue is full. */
  compare(password: string, hash: string): Promise<boolean> {
    if (this.pending.size >= this.maxQueued) return Promise.reject(new AuthBusyError());
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<boolean>((resolve, reject) => {
      this.pending.set(id, (ok) => (ok instanceof Error ? reject(ok) : resolve(ok)));
      worker.postMessage({ id, password, hash });
    });
  }

  /** Stops the worker; pending comparisons fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('bcrypt worker closed'));
    await worker?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
    const restFactor = 1 / Math.min(1, Math.max(0.01, this.duty)) - 1;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { bcryptPath, restFactor } });
    // Never what keeps the process alive: the HTTP server is.
    worker.unref();
    worker.on('message', ({ id, ok }: { id: number; ok: boolean }) => {
      const settle = this.pending.get(id);
      this.pending.delete(id);
      settle?.(ok);
    });
    const lost = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`bcrypt worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    const settles = [...this.pending.values()];
    this.pending.clear();
    for (const settle of settles) settle(err);
  }
}
