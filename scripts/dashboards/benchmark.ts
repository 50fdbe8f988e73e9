import { C, UID, clusterVar } from './common.js';
import type { DashboardSpec, PanelSpec } from './lib.js';

/** Series the benchmark job publishes (src/bench); kept in one place so a rename touches one line. */
export const BENCH = {
  throughput: 'etcd_monitor_benchmark_throughput_ops_per_second',
  latency: 'etcd_monitor_benchmark_latency_seconds',
  errors: 'etcd_monitor_benchmark_errors_total',
  slo: 'etcd_monitor_benchmark_slo_pass',
  lastRun: 'etcd_monitor_benchmark_last_run_timestamp_seconds',
} as const;

const NO_RUN = 'no benchmark has run against this cluster in the time range';

const latency = (q: number): PanelSpec['targets'][number] => ({
  expr: `histogram_quantile(${q}, sum by (workload, le) (increase(${BENCH.latency}_bucket{${C}}[$__range])))`,
  legend: `p${q * 100} {{workload}}`,
  emptyWhenHealthy: NO_RUN,
});

/** Benchmark results over time: throughput, latency quantiles, errors and SLO verdicts per workload. */
export const benchmark: DashboardSpec = {
  uid: UID.bench,
  title: 'etcd / Benchmark',
  description:
    "Results of etcd-monitor's benchmark job against a cluster: throughput and latency quantiles per workload over time, errors by gRPC code, and whether each run met its SLO.",
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
            'Whether the latest run of each workload met its SLO (throughput, p99 latency and error budget).',
          w: 10,
          h: 5,
          textMode: 'value_and_name',
          targets: [
            {
              expr: `max by (workload) (${BENCH.slo}{${C}})`,
              legend: '{{workload}}',
              emptyWhenHealthy: NO_RUN,
            },
          ],
          mappings: [
            { value: 1, text: 'PASS', color: 'green' },
            { value: 0, text: 'FAIL', color: 'red' },
          ],
        },
        {
          kind: 'stat',
          title: 'Throughput',
          description: 'Operations per second the latest run of each workload sustained.',
          w: 10,
          h: 5,
          unit: 'ops',
          textMode: 'value_and_name',
          thresholds: [[null, 'blue']],
          targets: [
            {
              expr: `max by (workload) (${BENCH.throughput}{${C}})`,
              legend: '{{workload}}',
              emptyWhenHealthy: NO_RUN,
            },
          ],
        },
        {
          kind: 'stat',
          title: 'Last run',
          description: 'Time since the latest benchmark run against this cluster finished.',
          w: 4,
          h: 5,
          unit: 's',
          decimals: 0,
          thresholds: [[null, 'text']],
          targets: [{ expr: `time() - max(${BENCH.lastRun}{${C}})`, emptyWhenHealthy: NO_RUN }],
        },
      ],
    },
    {
      title: 'Results over time',
      panels: [
        {
          kind: 'timeseries',
          title: 'Throughput by workload',
          description: 'Operations per second of each run, by workload.',
          w: 12,
          h: 8,
          unit: 'ops',
          targets: [
            {
              expr: `max by (workload) (${BENCH.throughput}{${C}})`,
              legend: '{{workload}}',
              emptyWhenHealthy: NO_RUN,
            },
          ],
        },
        {
          kind: 'timeseries',
          title: 'SLO verdicts',
          description: '1 while the latest run of a workload passed its SLO, 0 while it failed.',
          w: 12,
          h: 8,
          unit: 'none',
          min: 0,
          max: 1,
          targets: [
            {
              expr: `max by (workload) (${BENCH.slo}{${C}})`,
              legend: '{{workload}}',
              emptyWhenHealthy: NO_RUN,
            },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Latency quantiles',
          description:
            'Median, 90th and 99th percentile request latency by workload, over the runs in the time range (from the latency histogram).',
          w: 12,
          h: 8,
          unit: 's',
          targets: [latency(0.5), latency(0.9), latency(0.99)],
        },
        {
          kind: 'timeseries',
          title: 'Errors by code',
          description:
            'Failed benchmark requests by workload and gRPC code in the time range (retries are off, so every failure counts).',
          w: 12,
          h: 8,
          unit: 'short',
          targets: [
            {
              expr: `sum by (workload, code) (increase(${BENCH.errors}{${C}}[$__range]))`,
              legend: '{{workload}} {{code}}',
              emptyWhenHealthy: 'errors are counted per code only once a request fails',
            },
          ],
        },
      ],
    },
  ],
};
