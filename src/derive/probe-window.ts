/** Recent probe latencies of a cluster, per operation, newest last. */
export interface ProbeWindow {
  readonly read: readonly number[];
  readonly write: readonly number[];
}

export const EMPTY_PROBE_WINDOW: ProbeWindow = { read: [], write: [] };

/** How many recent probe results the REST API's percentiles are taken over. */
export const PROBE_WINDOW_SIZE = 300;

/** Appends one probe result, keeping the newest PROBE_WINDOW_SIZE. */
export function addProbe(window: ProbeWindow, readSeconds: number, writeSeconds: number): ProbeWindow {
  const keep = (values: readonly number[], v: number) => [...values.slice(-(PROBE_WINDOW_SIZE - 1)), v];
  return { read: keep(window.read, readSeconds), write: keep(window.write, writeSeconds) };
}

/** Nearest-rank percentile; undefined for an empty list. */
export function percentile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** One member's latest successful probe. */
export interface ProbeLatency {
  readonly readSeconds: number;
  readonly writeSeconds: number;
}

/**
 * Whether the latest health round's probes (one read and one write through each member, as the
 * snapshot holds them) have a p99 above `maxSeconds`. Nearest-rank p99 of fewer than 100 values is the
 * slowest one. The verdict used to be the p99 of the PROBE_WINDOW_SIZE window, which keeps a slow spell
 * for 300 results: 100 rounds of a 3-member cluster, ≈95 s at 1 s rounds and 50 min at the default 30 s
 * (issue 12). This one clears with the first health round after recovery; the window's percentiles stay
 * for the REST API and dashboards.
 */
export function latestRoundAboveMax(latest: readonly ProbeLatency[], maxSeconds: number): boolean {
  const p99 = (values: number[]) => percentile(values, 0.99) ?? 0;
  return (
    p99(latest.map((p) => p.readSeconds)) > maxSeconds || p99(latest.map((p) => p.writeSeconds)) > maxSeconds
  );
}
