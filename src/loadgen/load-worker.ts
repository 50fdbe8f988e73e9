import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { connectEtcd3 } from './etcd3-transport.js';
import { runLoad, type LoadSpec } from './load.js';
import { connectLean, type ConnectSpec, type PayloadSpec } from './transport.js';

// Entry of one load worker thread: connects its share of the connections, waits for "go", runs its
// clients and streams latency batches, progress and the final counts back to the main thread.

/** What the main thread hands each worker. */
export interface WorkerInput {
  connect: ConnectSpec;
  payload: PayloadSpec;
  client: 'lean' | 'etcd3';
  /** Global client indices this worker runs. */
  clients: number[];
  load: Omit<LoadSpec, 'onProgress' | 'onLatencyBatch' | 'clients'>;
}

/** Messages from a worker. */
export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'failed'; code?: string; message: string }
  | { t: 'lat'; op: 'read' | 'write'; micros: Float64Array; count: number }
  | { t: 'progress'; completed: number }
  | {
      t: 'done';
      read: { succeeded: number; errors: [number, number][]; lastError?: string };
      write: { succeeded: number; errors: [number, number][]; lastError?: string };
      elu: number;
    };

const port = parentPort!;
const input = workerData as WorkerInput;
const post = (m: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

try {
  // Structured clone turns Buffers into plain Uint8Arrays.
  const payload = { ...input.payload, prefix: Buffer.from(input.payload.prefix) };
  const transport = await (input.client === 'etcd3' ? connectEtcd3 : connectLean)(input.connect, payload);
  // 'go' starts the measured loop; 'stop' (an interrupted run) ends it after the calls in flight.
  const stop = new AbortController();
  const go = new Promise<void>((resolve) =>
    port.on('message', (m: 'go' | 'stop') => (m === 'stop' ? stop.abort() : resolve())),
  );
  post({ t: 'ready' });
  await go;
  // The worker's transport numbers clients globally; runLoad numbers them 0..n-1.
  const local = {
    name: transport.name,
    close: transport.close,
    client: (j: number) => transport.client(input.clients[j]!),
  };
  const elu0 = performance.eventLoopUtilization();
  const out = await runLoad(local, {
    ...input.load,
    clients: input.clients.length,
    latencySinkOnly: true,
    signal: stop.signal,
    onProgress: (completed) => post({ t: 'progress', completed }),
    // Copies go to the main thread, which owns the histograms; this thread only counts.
    onLatencyBatch: (op, micros, count) => {
      const copy = micros.slice(0, count);
      post({ t: 'lat', op, micros: copy, count }, [copy.buffer as ArrayBuffer]);
    },
  });
  await transport.close();
  port.removeAllListeners('message');
  const summary = (o: typeof out.read) => ({
    succeeded: o.succeeded,
    errors: [...o.errors],
    lastError: o.lastError,
  });
  post({
    t: 'done',
    read: summary(out.read),
    write: summary(out.write),
    elu: performance.eventLoopUtilization(elu0).utilization,
  });
} catch (err) {
  post({
    t: 'failed',
    code: (err as { code?: string }).code,
    message: err instanceof Error ? err.message : String(err),
  });
}
