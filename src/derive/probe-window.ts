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
