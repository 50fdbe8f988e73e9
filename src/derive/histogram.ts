import type { ParsedMetrics } from '../protocol/prom-text/types.js';

/** Cumulative bucket counts of one histogram series, sorted by upper bound. */
export interface Buckets {
  readonly le: readonly number[];
  readonly counts: readonly number[];
}

/** Buckets of `family`, summed over every series that passes `where` (e.g. all peers, or one peer). */
export function bucketsOf(
  metrics: ParsedMetrics,
  family: string,
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): Buckets | undefined {
  const byLe = new Map<number, number>();
  for (const sample of metrics.get(family)?.samples ?? []) {
    if (sample.name !== `${family}_bucket` || !where(sample.labels)) continue;
    const le = sample.labels['le'] === '+Inf' ? Infinity : Number(sample.labels['le']);
    byLe.set(le, (byLe.get(le) ?? 0) + sample.value);
  }
  if (byLe.size === 0) return undefined;
  const le = [...byLe.keys()].sort((a, b) => a - b);
  return { le, counts: le.map((edge) => byLe.get(edge) as number) };
}

/** Observations that happened between two scrapes; undefined if the counters went backwards (restart). */
export function bucketDelta(
  previous: Buckets | undefined,
  current: Buckets | undefined,
): Buckets | undefined {
  if (!current) return undefined;
  if (!previous) return undefined;
  if (previous.le.length !== current.le.length || previous.le.some((edge, i) => edge !== current.le[i]))
    return undefined;
  const counts = current.counts.map((count, i) => count - (previous.counts[i] as number));
  if (counts.some((c) => c < 0)) return undefined;
  return { le: current.le, counts };
}

/**
 * Quantile by linear interpolation inside the bucket, as PromQL's histogram_quantile does; undefined
 * when there were no observations. A result in the +Inf bucket is reported as the highest finite edge.
 */
export function quantile(q: number, buckets: Buckets | undefined): number | undefined {
  if (!buckets) return undefined;
  const total = buckets.counts[buckets.counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < buckets.le.length; i++) {
    const count = buckets.counts[i] as number;
    if (count >= rank) {
      const upper = buckets.le[i] as number;
      const lower = i === 0 ? 0 : (buckets.le[i - 1] as number);
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : (buckets.counts[i - 1] as number);
      const inBucket = count - below;
      if (inBucket <= 0) return upper;
      return lower + (upper - lower) * ((rank - below) / inBucket);
    }
  }
  return buckets.le[buckets.le.length - 2];
}
