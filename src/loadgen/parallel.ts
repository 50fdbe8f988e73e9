import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { MonitorError } from '../util/errors.js';
import { LatencyRecorder } from './latency.js';
import type { LoadOutcome, LoadSpec, OpOutcome } from './load.js';
import type { WorkerInput, WorkerMessage } from './load-worker.js';
import type { ConnectSpec, PayloadSpec } from './transport.js';

// Spreads one run over worker threads. Connection k belongs to worker k mod W and client i (which uses
// connection i mod conns, as in etcd's tool) to that connection's worker, so no call crosses threads.
// Several runnable threads also keep the client's share of a contended CPU comparable to a
// multi-threaded Go client's; the main thread only merges latency batches.

export interface ParallelSpec {
  workers: number;
  connect: ConnectSpec;
  payload: PayloadSpec;
  client: 'lean' | 'etcd3';
  load: LoadSpec;
  /** Awaited once every thread is connected and before they start (a distributed run's start barrier). */
  beforeGo?: () => Promise<void>;
}

function spawnWorker(input: WorkerInput): Worker {
  if (import.meta.url.endsWith('.ts')) {
    // Running from source under tsx: worker threads do not inherit its loader, so register it first.
    const entry = new URL('./load-worker.ts', import.meta.url).href;
    return new Worker(
      `const { workerData } = require('node:worker_threads');
       (async () => { (await import('tsx/esm/api')).register(); await import(workerData.__entry); })();`,
      { eval: true, workerData: { ...input, __entry: entry } },
    );
  }
  return new Worker(new URL('./load-worker.js', import.meta.url), { workerData: input });
}

/** Runs `spec.load` on `spec.workers` threads and merges their outcome as if one loop had run. */
export async function runLoadInWorkers(spec: ParallelSpec): Promise<LoadOutcome> {
  const { workers: w, connect, load } = spec;
  const inputs: WorkerInput[] = [];
  for (let t = 0; t < w; t++) {
    const only = Array.from({ length: connect.conns }, (_, k) => k).filter((k) => k % w === t);
    const clients = Array.from({ length: load.clients }, (_, i) => i).filter(
      (i) => (i % connect.conns) % w === t,
    );
    if (clients.length === 0) continue;
    inputs.push({
      connect: { ...connect, only },
      payload: spec.payload,
      client: spec.client,
      clients,
      load: { ...load },
    });
  }
  // Split the call budget and the open-loop rate by client share; sequential keys interleave.
  let left = load.ops;
  inputs.forEach((inp, t) => {
    const share = inp.clients.length / load.clients;
    if (load.ops !== undefined) {
      const ops = t === inputs.length - 1 ? left! : Math.round(load.ops * share);
      left = left! - ops;
      inp.load.ops = ops;
    }
    if (load.rate !== undefined) inp.load.rate = load.rate * share;
    // Within the process's own sequence (offset o, stride s; a distributed run's share): o + s*(t + W*m).
    inp.load.keyOffset = (load.keyOffset ?? 0) + t * (load.keyStride ?? 1);
    inp.load.keyStride = inputs.length * (load.keyStride ?? 1);
    delete (inp.load as Partial<LoadSpec>).onProgress;
    delete (inp.load as Partial<LoadSpec>).onLatencyBatch;
    // An AbortSignal cannot cross threads; an abort is forwarded as a 'stop' message instead.
    delete (inp.load as Partial<LoadSpec>).signal;
  });

  const sink = load.onLatencyBatch;
  const read: OpOutcome = {
    recorder: new LatencyRecorder(sink ? (m, c) => sink('read', m, c) : undefined),
    succeeded: 0,
    errors: new Map(),
  };
  const write: OpOutcome = {
    recorder: new LatencyRecorder(sink ? (m, c) => sink('write', m, c) : undefined),
    succeeded: 0,
    errors: new Map(),
  };
  const progress = new Array<number>(inputs.length).fill(0);
  const ready: Array<() => void> = [];
  const threads = inputs.map(spawnWorker);
  let elu = 0;
  let t0 = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let startedAt = new Date();

  const finished = threads.map(
    (thread, t) =>
      new Promise<void>((resolve, reject) => {
        thread.on('message', (m: WorkerMessage) => {
          switch (m.t) {
            case 'ready':
              ready[t]!();
              return;
            case 'failed':
              reject(new MonitorError(m.code ?? 'BENCH_WORKER_FAILED', m.message));
              return;
            case 'lat': {
              const rec = (m.op === 'read' ? read : write).recorder;
              for (let i = 0; i < m.count; i++) rec.record(m.micros[i]! / 1000);
              return;
            }
            case 'progress':
              progress[t] = m.completed;
              return;
            case 'done':
              for (const [side, out] of [
                [m.read, read],
                [m.write, write],
              ] as const) {
                out.succeeded += side.succeeded;
                for (const [code, n] of side.errors) out.errors.set(code, (out.errors.get(code) ?? 0) + n);
                if (side.lastError) out.lastError = side.lastError;
              }
              elu = Math.max(elu, m.elu);
              resolve();
          }
        });
        thread.on('error', reject);
        thread.on('exit', (code) =>
          code === 0
            ? resolve()
            : reject(new MonitorError('BENCH_WORKER_FAILED', `load worker exited with ${code}`)),
        );
      }),
  );
  const allReady = Promise.all(threads.map((_, t) => new Promise<void>((r) => (ready[t] = r))));
  const stop = (): void => {
    for (const thread of threads) thread.postMessage('stop');
  };
  load.signal?.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race([allReady, Promise.all(finished)]);
    await spec.beforeGo?.();
    cpu0 = process.cpuUsage();
    t0 = performance.now();
    startedAt = new Date();
    for (const thread of threads) thread.postMessage('go');
    if (load.signal?.aborted) stop();
    const ticker = load.onProgress
      ? setInterval(
          () =>
            load.onProgress?.(
              progress.reduce((a, b) => a + b, 0),
              performance.now() - t0,
            ),
          500,
        )
      : undefined;
    try {
      await Promise.all(finished);
    } finally {
      if (ticker) clearInterval(ticker);
    }
  } finally {
    load.signal?.removeEventListener('abort', stop);
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  read.recorder.flush();
  write.recorder.flush();
  return { startedAt, elapsedMs, read, write, cpuMicros: cpu.user + cpu.system, eventLoopUtilization: elu };
}
