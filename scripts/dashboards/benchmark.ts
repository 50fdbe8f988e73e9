import { timeseries } from './panel-builders.js';
import { ONE_CLUSTER } from './selectors.js';
import type { DashboardSpec, PanelSpec, Target } from './spec.js';
import { UID } from './uids.js';
import { clusterVar } from './variables.js';

// The benchmark sidecar (`etcd-monitor bench --serve`, src/loadgen/metrics.ts) labels its series by workload
// and operation only; the `cluster` label is a target label set in Prometheus' scrape config
// (prometheus/prometheus.yml), as Prometheus' conventions place it.

/** A time series panel half the grid wide. */
const wide = (
  title: string,
  description: string,
  unit: string,
  targets: Target[],
  extra: Partial<PanelSpec> = {},
): PanelSpec => timeseries(title, description, unit, targets, { w: 12, ...extra });

// Shown both as the latest value and over time.
const SLO_PASSED: Target = {
  expr: `max by (workload) (etcd_monitor_benchmark_slo_passed{${ONE_CLUSTER}})`,
  legend: '{{workload}}',
};
const THROUGHPUT: Target = {
  expr: `max by (workload, operation) (etcd_monitor_benchmark_throughput_ops_per_second{${ONE_CLUSTER}})`,
  legend: '{{workload}} {{operation}}',
};

/** Benchmark results over time: throughput, latency quantiles, errors and SLO verdicts per workload. */
export const benchmark: DashboardSpec = {
  uid: UID.bench,
  title: 'etcd / Benchmark',
  summary: 'Benchmark results over time: throughput, latency quantiles, errors, SLO verdicts, disk check',
  description:
    "Results of etcd-monitor's benchmark sidecar against a cluster: throughput and latency quantiles per workload and operation over time, errors by gRPC code, SLO verdicts against the configured targets, and the disk check.",
  tags: ['etcd', 'benchmark'],
  variables: [clusterVar],
  timeFrom: 'now-24h',
  rows: [
    {
      title: 'Latest run',
      panels: [
        {
          kind: 'stat',
          title: 'SLO verdict',
          description:
            'Whether the latest run of each workload met its SLO: throughput target, p99 latency target and error budget.',
          w: 6,
          h: 5,
          textMode: 'value_and_name',
          targets: [SLO_PASSED],
          mappings: [
            { value: 1, text: 'PASS', color: 'green' },
            { value: 0, text: 'FAIL', color: 'red' },
          ],
        },
        {
          kind: 'stat',
          title: 'Throughput',
          description: 'Successful calls per second in the latest run, by workload and operation.',
          w: 6,
          h: 5,
          unit: 'ops',
          textMode: 'value_and_name',
          thresholds: [[null, 'blue']],
          targets: [THROUGHPUT],
        },
        {
          kind: 'stat',
          title: 'p99 latency',
          description:
            '99th percentile call latency of the latest run (HDR histogram of every call), by workload and operation; red above the default SLO of 100 ms.',
          w: 6,
          h: 5,
          unit: 's',
          textMode: 'value_and_name',
          thresholds: [
            [null, 'green'],
            [0.1, 'red'],
          ],
          targets: [
            {
              expr: `max by (workload, operation) (etcd_monitor_benchmark_last_run_latency_seconds{${ONE_CLUSTER}, quantile="0.99"})`,
              legend: '{{workload}} {{operation}}',
            },
          ],
        },
        {
          kind: 'stat',
          title: 'Since last run',
          description: 'Time since the latest run of each workload finished (or gave up).',
          w: 6,
          h: 5,
          unit: 's',
          decimals: 0,
          textMode: 'value_and_name',
          thresholds: [[null, 'text']],
          targets: [
            {
              expr: `time() - max by (workload) (etcd_monitor_benchmark_last_run_timestamp_seconds{${ONE_CLUSTER}})`,
              legend: '{{workload}}',
            },
          ],
        },
        {
          kind: 'stat',
          title: 'SLO targets',
          description:
            "Targets every run is judged against, by the benchmark's verdict: check perf's (no errors, above 0.9 of the ops/s limit, slowest request and latency standard deviation in seconds) or the design targets (read and write operations per second, p99 latency in seconds).",
          w: 12,
          h: 4,
          unit: 'short',
          textMode: 'value_and_name',
          thresholds: [[null, 'text']],
          targets: [
            {
              expr: `max by (target) (etcd_monitor_benchmark_slo_target{${ONE_CLUSTER}})`,
              legend: '{{target}}',
            },
          ],
        },
        {
          kind: 'stat',
          title: 'Disk check',
          description:
            "Whether the last disk check (etcd's fio recipe: 2300-byte writes with fdatasync) met etcd's guidance of fdatasync p99 below 10 ms, and that p99.",
          w: 12,
          h: 4,
          textMode: 'value_and_name',
          unit: 'short',
          targets: [
            {
              expr: `max by (dir) (etcd_monitor_benchmark_disk_check_passed{${ONE_CLUSTER}})`,
              legend: 'passed {{dir}}',
              emptyWhenHealthy: 'the sidecar runs the disk check only when given a directory to test',
            },
          ],
          mappings: [
            { value: 1, text: 'PASS', color: 'green' },
            { value: 0, text: 'FAIL', color: 'red' },
          ],
        },
      ],
    },
    {
      title: 'Results over time',
      panels: [
        wide(
          'Throughput by workload',
          'Successful calls per second of each run, by workload and operation.',
          'ops',
          [THROUGHPUT],
        ),
        wide(
          'Latency quantiles per run',
          'Median, 99th and 99.9th percentile call latency of each run, by workload and operation.',
          's',
          [
            {
              expr: `max by (workload, operation, quantile) (etcd_monitor_benchmark_last_run_latency_seconds{${ONE_CLUSTER}, quantile=~"0.5|0.99|0.999"})`,
              legend: '{{workload}} {{operation}} q{{quantile}}',
            },
          ],
          {
            thresholds: [
              [null, 'green'],
              [0.1, 'red'],
            ],
          },
        ),
        wide(
          'Latency during runs',
          'p50 and p99 of calls made within each interval, from the cumulative latency histogram (buckets with exact edges at 10, 25 and 100 ms); gaps between runs.',
          's',
          [0.5, 0.99].map((q) => ({
            expr: `histogram_quantile(${q}, sum by (workload, operation, le) (rate(etcd_monitor_benchmark_request_duration_seconds_bucket{${ONE_CLUSTER}}[$__rate_interval])))`,
            legend: `p${q * 100} {{workload}} {{operation}}`,
          })),
        ),
        wide(
          'SLO verdicts',
          '1 while the latest run of a workload passed its SLO, 0 while it failed.',
          'none',
          [SLO_PASSED],
          { min: 0, max: 1 },
        ),
        wide(
          'Errors by code',
          'Failed benchmark calls per second by workload, operation and gRPC code (calls are never retried, so every failure counts).',
          'ops',
          [
            {
              expr: `sum by (workload, operation, code) (rate(etcd_monitor_benchmark_errors_total{${ONE_CLUSTER}}[$__rate_interval]))`,
              legend: '{{workload}} {{operation}} {{code}}',
              emptyWhenHealthy: 'a code appears only once a call has failed with it',
            },
          ],
        ),
        wide(
          'Runs and client cost',
          'Runs per hour by result (completed, or error when a run could not finish), and client CPU per call: high values mean the client, not etcd, limited the result.',
          'short',
          [
            {
              expr: `sum by (workload, result) (increase(etcd_monitor_benchmark_runs_total{${ONE_CLUSTER}}[1h]))`,
              legend: '{{workload}} {{result}} runs/h',
            },
            {
              expr: `max by (workload) (etcd_monitor_benchmark_client_cpu_seconds_per_operation{${ONE_CLUSTER}})`,
              legend: '{{workload}} CPU s/op',
            },
          ],
        ),
      ],
    },
  ],
};
