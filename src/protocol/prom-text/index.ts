import { MetricsText } from './metrics-text.js';
import type { MetricFamily, ParsedMetrics, Sample } from './types.js';

export { MetricsParseError } from './scan.js';

/**
 * Parses Prometheus text exposition format 0.0.4 into families. Strict enough that an HTML page or
 * random bytes fail loudly (so a member serving garbage is reported, not silently read as empty).
 * Every line is checked now; samples become objects per family on first access (see MetricsText).
 */
export function parsePromText(text: string): MetricsText {
  return new MetricsText(text);
}

/** The samples of one family, or none when the member does not export it (e.g. an older etcd). */
export function samplesOf(metrics: ParsedMetrics, family: string): readonly Sample[] {
  return metrics.get(family)?.samples ?? [];
}

/** Sum of a family's plain samples (not _bucket/_sum/_count), optionally filtered by labels. */
export function sumOf(
  metrics: ParsedMetrics,
  family: string,
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): number | undefined {
  let total: number | undefined;
  for (const s of samplesOf(metrics, family)) {
    if (s.name === family && where(s.labels)) total = (total ?? 0) + s.value;
  }
  return total;
}

/** Exported so callers can declare the families they build. */
export type { MetricFamily };
