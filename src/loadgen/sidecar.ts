import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/logger.js';
import { describeError } from '../util/errors.js';
import { runDiskCheck } from './disk-check.js';
import type { Workload } from './load.js';
import { BenchmarkMetrics } from './metrics.js';
import { BenchInterruptedError } from './prefix.js';
import type { BenchmarkResult } from './result.js';
import { runBenchmark } from './run.js';
import type { BenchOptions } from './spec.js';

export interface SidecarOptions {
  /** Options shared by every scheduled run; `workload` is taken from `workloads`. */
  bench: Omit<BenchOptions, 'workload' | 'onLatencyBatch' | 'onProgress' | 'signal' | 'runId'>;
  workloads: readonly Workload[];
  scheduleMs: number;
  host: string;
  port: number;
  /** When set, the etcd disk check runs in this directory on every schedule tick too. */
  diskDir?: string;
  /** Bytes the disk check writes (etcd's recipe: 22 MiB). */
  diskBytes?: number;
  log: Logger;
  /** Called after each run (tests and the JSON-lines store hook in here). */
  onResult?: (r: BenchmarkResult) => void;
}

export interface Sidecar {
  readonly url: string;
  readonly metrics: BenchmarkMetrics;
  /** Resolves when the current round (if any) has finished; for tests. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `bench --serve`: runs the configured workloads one after another every `scheduleMs` (the next round
 * is scheduled when the previous one ends, so rounds never overlap) and serves the results on its own
 * `/metrics`.
 */
export async function startSidecar(o: SidecarOptions): Promise<Sidecar> {
  const metrics = new BenchmarkMetrics();
  // The targets gauge shows the rules of the verdict in force, so the benchmark dashboard's targets panel
  // has data with either.
  if (o.bench.verdict === 'design-targets') metrics.targets(o.bench.slo);
  else metrics.checkPerfTargets(o.bench.rate);
  let round: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // close() interrupts the run under way; it still deletes its keys before close() resolves.
  const stop = new AbortController();

  const runRound = async (): Promise<void> => {
    for (const workload of o.workloads) {
      if (closed) return;
      try {
        const result = await runBenchmark({
          ...o.bench,
          workload,
          signal: stop.signal,
          onLatencyBatch: (op, micros, count) => metrics.observeBatch(workload, op, micros, count),
        });
        metrics.recordResult(result);
        o.onResult?.(result);
        o.log.info(
          {
            workload,
            throughput: Math.round(result.throughput),
            p99Ms: result.latency.p99Ms,
            slo: result.slo.passed,
          },
          'benchmark run finished',
        );
      } catch (err) {
        if (err instanceof BenchInterruptedError) {
          o.log.info({ workload, cleanup: err.cleanup }, 'benchmark run interrupted; its keys were deleted');
          return;
        }
        metrics.recordFailure(workload);
        o.log.error({ workload, err: describeError(err) }, 'benchmark run failed');
      }
    }
    if (o.diskDir && !closed) {
      try {
        metrics.recordDisk(runDiskCheck({ dir: o.diskDir, totalBytes: o.diskBytes }));
      } catch (err) {
        o.log.error({ err: describeError(err) }, 'disk check failed');
      }
    }
  };
  const schedule = (): void => {
    round = runRound().finally(() => {
      if (!closed) timer = setTimeout(schedule, o.scheduleMs);
    });
  };

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(describeError(err));
        },
      );
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ error: { code: 'NOT_FOUND', message: 'only /metrics and /healthz are served here' } }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  o.log.info({ url, workloads: o.workloads, scheduleMs: o.scheduleMs }, 'benchmark sidecar listening');
  schedule();

  return {
    url,
    metrics,
    idle: () => round,
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      stop.abort();
      await round;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
