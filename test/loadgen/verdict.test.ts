import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { benchOptionsFromFlags, type BenchFlags } from '../../src/loadgen/options.js';
import { BenchmarkMetrics } from '../../src/loadgen/metrics.js';
import { progressText } from '../../src/loadgen/progress.js';
import { DEFAULT_SLO, judgeCheckPerf, judgeProfile, judgeSlo } from '../../src/loadgen/slo.js';

// etcdctl check perf's verdict, as etcd-io/etcd etcdctl/ctlv3/command/check.go (newCheckPerfCommand)
// decides it: FAIL on any error, on s.RPS/limit <= 0.9, on s.Slowest > 0.5 s, on s.Stddev > 0.1 s.
const ok = { opsPerSec: 1000, failed: 0, maxMs: 120, stddevMs: 20 };

describe('check-perf verdict (the default)', () => {
  it.each([
    ['all within', 1000, ok, true, []],
    [
      'throughput exactly 90 % of the limit fails (<= 0.9)',
      1000,
      { ...ok, opsPerSec: 900 },
      false,
      ['throughput_ratio_of_limit'],
    ],
    ['throughput just above 90 % passes', 1000, { ...ok, opsPerSec: 901 }, true, []],
    ['one error fails', 1000, { ...ok, failed: 1 }, false, ['errors']],
    ['slowest exactly 500 ms passes', 1000, { ...ok, maxMs: 500 }, true, []],
    ['slowest above 500 ms fails', 1000, { ...ok, maxMs: 500.001 }, false, ['slowest_request_ms']],
    ['stddev exactly 100 ms passes', 1000, { ...ok, stddevMs: 100 }, true, []],
    ['stddev above 100 ms fails', 1000, { ...ok, stddevMs: 100.5 }, false, ['stddev_ms']],
    ['closed loop: no limit, no throughput check', undefined, { ...ok, opsPerSec: 1 }, true, []],
    [
      'closed loop still fails on a slow request',
      undefined,
      { ...ok, maxMs: 900 },
      false,
      ['slowest_request_ms'],
    ],
    [
      'everything wrong',
      1000,
      { opsPerSec: 10, failed: 3, maxMs: 800, stddevMs: 300 },
      false,
      ['errors', 'throughput_ratio_of_limit', 'slowest_request_ms', 'stddev_ms'],
    ],
  ] as const)('%s', (_name, limit, run, passed, failing) => {
    const v = judgeCheckPerf(limit, run);
    expect(v.passed).toBe(passed);
    expect(v.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual(failing);
    expect(v.checks.some((c) => c.name === 'throughput_ratio_of_limit')).toBe(limit !== undefined);
  });

  it.each([
    ['s', 150, 136, true],
    ['s', 150, 135, false],
    ['m', 1000, 901, true],
    ['l', 8000, 7200, false],
    ['xl', 15_000, 13_501, true],
  ] as const)('profile %s: limit %i writes/s, %i writes/s passes: %s', (profile, _limit, ops, passed) => {
    expect(judgeProfile(profile, { ...ok, opsPerSec: ops }).passed).toBe(passed);
  });
});

describe('design-targets verdict (40k reads/s, 20k writes/s, P99 < 100 ms)', () => {
  const base = { readRatio: 0.7, readOpsPerSec: 0, writeOpsPerSec: 0, p99Ms: 50, failed: 0, total: 1000 };
  it.each([
    ['read at 40,000/s', { ...base, workload: 'read', totalOpsPerSec: 40_000 }, true],
    ['read at 39,999/s', { ...base, workload: 'read', totalOpsPerSec: 39_999 }, false],
    ['write at 20,000/s', { ...base, workload: 'write', totalOpsPerSec: 20_000 }, true],
    ['write at 3,000/s (an ordinary cluster)', { ...base, workload: 'write', totalOpsPerSec: 3000 }, false],
    ['mixed at 0.7*40k + 0.3*20k', { ...base, workload: 'mixed', totalOpsPerSec: 34_000 }, true],
    ['P99 exactly 100 ms', { ...base, workload: 'write', totalOpsPerSec: 30_000, p99Ms: 100 }, false],
  ] as const)('%s', (_name, input, passed) => {
    expect(judgeSlo(input, DEFAULT_SLO).passed).toBe(passed);
  });
});

describe('--verdict from flags', () => {
  const config = resolveConfig({ flags: { endpoints: 'http://127.0.0.1:2379' }, env: {} });
  it.each([
    ['nothing given: check-perf', {}, 'check-perf'],
    ['--verdict design-targets', { verdict: 'design-targets' }, 'design-targets'],
    ['an --slo-* target selects design-targets', { 'slo-write-ops': 500 }, 'design-targets'],
    ['--profile s: check-perf', { profile: 's' }, 'check-perf'],
  ] as const)('%s', (_name, flags, verdict) => {
    expect(benchOptionsFromFlags(flags as BenchFlags, config).verdict).toBe(verdict);
  });
  it.each([
    [{ verdict: 'fast' }, 'verdict'],
    [{ verdict: 'check-perf', 'slo-read-ops': 1 }, 'verdict'],
  ] as const)('refuses %j naming the field', (flags, field) => {
    expect(() => benchOptionsFromFlags(flags as BenchFlags, config)).toThrow(field);
  });
});

describe('progress line text', () => {
  it.each([
    [
      'duration: ETA from the duration',
      { phase: 'write', unit: 'ops', done: 5000, durationMs: 60_000 },
      12_000,
      10_000,
      'write: 5000 ops, 500 ops/s, elapsed 12s, ETA 50s',
    ],
    [
      'op count: ETA from the rate',
      { phase: 'write', unit: 'ops', done: 2500, expected: 10_000 },
      5000,
      5000,
      'write: 2500/10000 ops, 500 ops/s, elapsed 5s, ETA 15s',
    ],
    [
      'nothing done yet',
      { phase: 'members', unit: 'members', done: 0, expected: 3 },
      300,
      300,
      'members: 0/3 members, 0 members/s, elapsed 0s, ETA ?',
    ],
  ] as const)('%s', (_name, counters, elapsed, phase, text) => {
    expect(progressText(counters, elapsed, phase)).toBe(text);
  });
});

describe('etcd_monitor_benchmark_slo_target: the rules of the verdict in force', () => {
  const targets = async (set: (m: BenchmarkMetrics) => void) => {
    const m = new BenchmarkMetrics();
    set(m);
    const metric = await m.registry.getSingleMetric('etcd_monitor_benchmark_slo_target')?.get();
    return Object.fromEntries((metric?.values ?? []).map((v) => [v.labels['target'], v.value]));
  };

  it.each([
    [
      'check-perf with a limit (a profile or --rate)',
      (m: BenchmarkMetrics) => m.checkPerfTargets(150),
      {
        errors: 0,
        ops_per_second: 150,
        throughput_ratio_of_limit: 0.9,
        slowest_request_seconds: 0.5,
        stddev_seconds: 0.1,
      },
    ],
    [
      'check-perf closed loop (no limit)',
      (m: BenchmarkMetrics) => m.checkPerfTargets(undefined),
      { errors: 0, slowest_request_seconds: 0.5, stddev_seconds: 0.1 },
    ],
    [
      'design targets replace what was set before',
      (m: BenchmarkMetrics) => {
        m.checkPerfTargets(150);
        m.targets(DEFAULT_SLO);
      },
      { read_ops_per_second: 40_000, write_ops_per_second: 20_000, p99_latency_seconds: 0.1 },
    ],
  ] as const)('%s', async (_name, set, expected) => {
    expect(await targets(set)).toEqual(expected);
  });
});
