import type { Workload } from './load.js';

/**
 * Targets a run is judged against: `--slo-read-ops`, `--slo-write-ops`, `--slo-p99-ms` (API: the same
 * fields), DEFAULT_SLO where not given.
 */
export interface SloTargets {
  readOpsPerSec: number;
  writeOpsPerSec: number;
  p99Ms: number;
  /** Largest tolerated share of failed calls (0 = any error fails). */
  maxErrorRatio: number;
}

/** The load generator's default SLO: 40,000 reads/s, 20,000 writes/s, p99 at most 100 ms, no failed call. */
export const DEFAULT_SLO: SloTargets = {
  readOpsPerSec: 40_000,
  writeOpsPerSec: 20_000,
  p99Ms: 100,
  maxErrorRatio: 0,
};

/** One pass/fail line of a verdict. */
export interface SloCheck {
  name: string;
  passed: boolean;
  actual: number;
  target: string;
}

export interface SloVerdict {
  passed: boolean;
  checks: SloCheck[];
}

/** What the judged run achieved (per operation where it matters). */
export interface SloInput {
  workload: Workload;
  readRatio: number;
  readOpsPerSec: number;
  writeOpsPerSec: number;
  totalOpsPerSec: number;
  p99Ms: number;
  failed: number;
  total: number;
}

/**
 * Judges a run. Reads are held to the read target, writes to the write target; the mixed workload to
 * the same mix of both (0.7 × reads + 0.3 × writes by default), so one number says whether the mix holds.
 */
export function judgeSlo(input: SloInput, t: SloTargets): SloVerdict {
  const checks: SloCheck[] = [];
  const required =
    input.workload === 'read'
      ? t.readOpsPerSec
      : input.workload === 'write'
        ? t.writeOpsPerSec
        : input.readRatio * t.readOpsPerSec + (1 - input.readRatio) * t.writeOpsPerSec;
  checks.push({
    name: 'throughput_ops_per_second',
    passed: input.totalOpsPerSec >= required,
    actual: input.totalOpsPerSec,
    target: `>= ${round(required)}`,
  });
  checks.push({
    name: 'p99_latency_ms',
    passed: input.p99Ms < t.p99Ms,
    actual: input.p99Ms,
    target: `< ${t.p99Ms}`,
  });
  const ratio = input.total === 0 ? 0 : input.failed / input.total;
  checks.push({
    name: 'error_ratio',
    passed: ratio <= t.maxErrorRatio,
    actual: ratio,
    target: `<= ${t.maxErrorRatio}`,
  });
  return { passed: checks.every((c) => c.passed), checks };
}

/** `etcdctl check perf` load profiles (etcdctl v3.4 `check perf --load`). */
export type ProfileName = 's' | 'm' | 'l' | 'xl';
export const PROFILES: Record<ProfileName, { limit: number; clients: number }> = {
  s: { limit: 150, clients: 50 },
  m: { limit: 1_000, clients: 200 },
  l: { limit: 8_000, clients: 500 },
  xl: { limit: 15_000, clients: 1_000 },
};
/** check perf's fixed shape: 60 s, 256-byte keys, 1 KiB values, one connection per client. */
export const PROFILE_DURATION_MS = 60_000;
export const PROFILE_KEY_SIZE = 256;
export const PROFILE_VAL_SIZE = 1024;

/**
 * Which rules judge a run. `check-perf` (the default): etcdctl `check perf`'s pass criteria
 * (etcd-io/etcd etcdctl/ctlv3/command/check.go, newCheckPerfCommand): no errors, throughput / limit > 0.9
 * (it fails at <= 0.9), slowest request <= 0.5 s, stddev <= 0.1 s — where the limit is the profile's
 * (--profile) or the open loop's --rate; a closed-loop run has no limit, so it is judged on the other three.
 * `design-targets`: the original design's 40,000 reads/s, 20,000 writes/s, P99 < 100 ms (--slo-* flags).
 */
export const VERDICTS = ['check-perf', 'design-targets'] as const;
export type VerdictName = (typeof VERDICTS)[number];

/** check perf's thresholds (etcdctl/ctlv3/command/check.go): a run passes above 90 % of the limit, with
 * its slowest request at most 0.5 s and a latency standard deviation at most 0.1 s. */
export const CHECK_PERF = { minThroughputRatio: 0.9, maxSlowestMs: 500, maxStddevMs: 100 } as const;

/** check perf's pass criteria against `limit` writes/s (none: the throughput line is left out). */
export function judgeCheckPerf(
  limit: number | undefined,
  r: { opsPerSec: number; failed: number; maxMs: number; stddevMs: number },
): SloVerdict {
  const checks: SloCheck[] = [{ name: 'errors', passed: r.failed === 0, actual: r.failed, target: '== 0' }];
  if (limit !== undefined)
    checks.push({
      name: 'throughput_ratio_of_limit',
      passed: r.opsPerSec / limit > CHECK_PERF.minThroughputRatio,
      actual: r.opsPerSec / limit,
      target: `> ${CHECK_PERF.minThroughputRatio}`,
    });
  checks.push(
    {
      name: 'slowest_request_ms',
      passed: r.maxMs <= CHECK_PERF.maxSlowestMs,
      actual: r.maxMs,
      target: `<= ${CHECK_PERF.maxSlowestMs}`,
    },
    {
      name: 'stddev_ms',
      passed: r.stddevMs <= CHECK_PERF.maxStddevMs,
      actual: r.stddevMs,
      target: `<= ${CHECK_PERF.maxStddevMs}`,
    },
  );
  return { passed: checks.every((c) => c.passed), checks };
}

/** check perf's verdict for one of its load profiles (the profile's limit). */
export function judgeProfile(
  profile: ProfileName,
  r: { opsPerSec: number; failed: number; maxMs: number; stddevMs: number },
): SloVerdict {
  return judgeCheckPerf(PROFILES[profile].limit, r);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
