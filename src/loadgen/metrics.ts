import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { DiskCheckResult } from './disk-check.js';
import type { LatencySummary } from './latency.js';
import type { BenchmarkResult } from './result.js';
import { CHECK_PERF } from './slo.js';

/** Bucket edges (seconds) with exact edges at 10, 25 and 100 ms so etcd's and the SLO's limits are judged exactly. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
  2.5, 5, 10,
];

type SummaryValues = Array<{
  labels: Record<string, string>;
  quantiles: Record<string, number>;
  sum: number;
  count: number;
}>;

/**
 * A summary whose quantiles are set from a finished run (HDR histogram) instead of being computed by
 * prom-client's sliding window; exposed in the ordinary summary format.
 */
class LastRunSummary {
  readonly type = 'summary';
  readonly aggregator = 'sum';
  private values: SummaryValues = [];
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(labels: Record<string, string>, quantiles: Record<string, number>, sum: number, count: number): void {
    const key = JSON.stringify(labels);
    this.values = this.values.filter((v) => JSON.stringify(v.labels) !== key);
    this.values.push({ labels, quantiles, sum, count });
  }

  get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.values.flatMap((v) => [
        ...Object.entries(v.quantiles).map(([q, value]) => ({ labels: { ...v.labels, quantile: q }, value })),
        { metricName: `${this.name}_sum`, labels: v.labels, value: v.sum },
        { metricName: `${this.name}_count`, labels: v.labels, value: v.count },
      ]),
    };
  }
}

const quantiles = (l: LatencySummary): Record<string, number> => ({
  '0.5': l.p50Ms / 1000,
  '0.95': l.p95Ms / 1000,
  '0.99': l.p99Ms / 1000,
  '0.999': l.p999Ms / 1000,
  '1': l.maxMs / 1000,
});

/** The benchmark sidecar's own registry: results of scheduled runs and disk checks. */
export class BenchmarkMetrics {
  readonly registry = new Registry();
  private readonly duration = new Histogram({
    name: 'etcd_monitor_benchmark_request_duration_seconds',
    help: 'Latency of successful benchmark calls (from the client, cumulative over all runs), by workload and operation.',
    labelNames: ['workload', 'operation'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly lastLatency = new LastRunSummary(
    'etcd_monitor_benchmark_last_run_latency_seconds',
    'Latency quantiles of the last benchmark run (HDR histogram, 3 significant digits), by workload and operation.',
  );
  private readonly throughput = new Gauge({
    name: 'etcd_monitor_benchmark_throughput_ops_per_second',
    help: 'Successful calls per second in the last benchmark run, by workload and operation.',
    labelNames: ['workload', 'operation'],
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: 'etcd_monitor_benchmark_requests_total',
    help: 'Benchmark calls completed (successful or failed) over all runs, by workload and operation.',
    labelNames: ['workload', 'operation'],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'etcd_monitor_benchmark_errors_total',
    help: 'Failed benchmark calls over all runs, by workload, operation and gRPC status code; never retried.',
    labelNames: ['workload', 'operation', 'code'],
    registers: [this.registry],
  });
  private readonly sloPassed = new Gauge({
    name: 'etcd_monitor_benchmark_slo_passed',
    help: 'Whether the last run of the workload met its SLO targets (1) or not (0).',
    labelNames: ['workload'],
    registers: [this.registry],
  });
  private readonly sloTarget = new Gauge({
    name: 'etcd_monitor_benchmark_slo_target',
    help: "Targets the runs are judged against, by the verdict's rules: check perf's (errors, throughput_ratio_of_limit, ops_per_second, slowest_request_seconds, stddev_seconds) or the design targets (read/write_ops_per_second, p99_latency_seconds).",
    labelNames: ['target'],
    registers: [this.registry],
  });
  private readonly lastRun = new Gauge({
    name: 'etcd_monitor_benchmark_last_run_timestamp_seconds',
    help: 'Unix time the last run of the workload finished (successfully or not).',
    labelNames: ['workload'],
    registers: [this.registry],
  });
  private readonly lastRunSeconds = new Gauge({
    name: 'etcd_monitor_benchmark_last_run_duration_seconds',
    help: 'Wall time of the last run of the workload, excluding key-space population.',
    labelNames: ['workload'],
    registers: [this.registry],
  });
  private readonly runs = new Counter({
    name: 'etcd_monitor_benchmark_runs_total',
    help: 'Benchmark runs attempted, by workload and result (completed, or error when the run could not finish).',
    labelNames: ['workload', 'result'],
    registers: [this.registry],
  });
  private readonly cpuPerOp = new Gauge({
    name: 'etcd_monitor_benchmark_client_cpu_seconds_per_operation',
    help: 'Benchmark client CPU (user+system) per call in the last run; high values mean the client limited the result.',
    labelNames: ['workload'],
    registers: [this.registry],
  });
  private readonly diskSync = new LastRunSummary(
    'etcd_monitor_benchmark_disk_fdatasync_seconds',
    'fdatasync latency of the last disk check (2300-byte writes, etcd fio recipe), by directory.',
  );
  private readonly diskPassed = new Gauge({
    name: 'etcd_monitor_benchmark_disk_check_passed',
    help: 'Whether the last disk check met etcd guidance (fdatasync p99 < 10 ms), by directory.',
    labelNames: ['dir'],
    registers: [this.registry],
  });
  private readonly diskLast = new Gauge({
    name: 'etcd_monitor_benchmark_disk_check_last_run_timestamp_seconds',
    help: 'Unix time the last disk check finished, by directory.',
    labelNames: ['dir'],
    registers: [this.registry],
  });

  constructor() {
    this.registry.registerMetric(this.lastLatency as unknown as Metric);
    this.registry.registerMetric(this.diskSync as unknown as Metric);
  }

  /** Sets the target gauges of the check-perf verdict; `limit` (ops/s) only when the run has one. */
  checkPerfTargets(limit: number | undefined): void {
    this.sloTarget.reset();
    this.sloTarget.set({ target: 'errors' }, 0);
    if (limit !== undefined) {
      this.sloTarget.set({ target: 'ops_per_second' }, limit);
      this.sloTarget.set({ target: 'throughput_ratio_of_limit' }, CHECK_PERF.minThroughputRatio);
    }
    this.sloTarget.set({ target: 'slowest_request_seconds' }, CHECK_PERF.maxSlowestMs / 1000);
    this.sloTarget.set({ target: 'stddev_seconds' }, CHECK_PERF.maxStddevMs / 1000);
  }

  /** Sets the target gauges of the design-targets verdict. */
  targets(t: { readOpsPerSec: number; writeOpsPerSec: number; p99Ms: number }): void {
    this.sloTarget.reset();
    this.sloTarget.set({ target: 'read_ops_per_second' }, t.readOpsPerSec);
    this.sloTarget.set({ target: 'write_ops_per_second' }, t.writeOpsPerSec);
    this.sloTarget.set({ target: 'p99_latency_seconds' }, t.p99Ms / 1000);
  }

  /** Feed for runLoad's latency batches (microseconds) into the cumulative histogram. */
  observeBatch(workload: string, operation: 'read' | 'write', micros: Float64Array, count: number): void {
    const child = this.duration.labels({ workload, operation });
    for (let i = 0; i < count; i++) child.observe(micros[i]! / 1e6);
  }

  /** Publishes a finished run. */
  recordResult(r: BenchmarkResult): void {
    const workload = r.type;
    for (const [op, o] of Object.entries(r.operations)) {
      if (!o) continue;
      this.throughput.set({ workload, operation: op }, o.throughput);
      this.requests.inc({ workload, operation: op }, o.successful + o.failed);
      for (const [code, n] of Object.entries(o.errors)) this.errors.inc({ workload, operation: op, code }, n);
      this.lastLatency.set(
        { workload, operation: op },
        quantiles(o.latency),
        (o.latency.avgMs * o.latency.count) / 1000,
        o.latency.count,
      );
    }
    this.sloPassed.set({ workload }, r.slo.passed ? 1 : 0);
    this.lastRun.set({ workload }, Date.parse(r.finishedAt) / 1000);
    this.lastRunSeconds.set({ workload }, r.durationSeconds);
    this.cpuPerOp.set({ workload }, r.clientCpu.microsPerOp / 1e6);
    this.runs.inc({ workload, result: 'completed' });
  }

  /** Counts a run that could not finish (connection refused, prefix not empty, ...). */
  recordFailure(workload: string): void {
    this.runs.inc({ workload, result: 'error' });
    this.lastRun.set({ workload }, Date.now() / 1000);
  }

  /** Publishes a disk check. */
  recordDisk(r: DiskCheckResult): void {
    const s = r.fdatasync;
    this.diskSync.set(
      { dir: r.dir },
      { '0.5': s.p50Ms / 1000, '0.99': s.p99Ms / 1000, '0.999': s.p999Ms / 1000, '1': s.maxMs / 1000 },
      (s.avgMs * r.syncs) / 1000,
      r.syncs,
    );
    this.diskPassed.set({ dir: r.dir }, r.passed ? 1 : 0);
    this.diskLast.set({ dir: r.dir }, Date.now() / 1000);
  }
}
