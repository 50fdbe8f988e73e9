import { formatDurationMs } from '../../util/duration.js';

/** A PromQL range/duration literal for milliseconds (e.g. 600000 → "10m"). */
export const window = (ms: number): string => formatDurationMs(ms);

/** A PromQL number literal without float noise (0.1 + 0.2 style artefacts never reach the rules). */
export function num(value: number): string {
  return String(Number(value.toPrecision(12)));
}

/** Bucket edges of etcd_network_peer_round_trip_time_seconds: 0.1 ms × 2ⁿ, as etcd prints them in `le`. */
export const PEER_RTT_EDGES: readonly number[] = Array.from({ length: 16 }, (_, n) =>
  Number((0.0001 * 2 ** n).toFixed(4)),
);

/**
 * The smallest bucket edge at or above `seconds`. Judging "slower than X" at an edge avoids
 * histogram_quantile's interpolation, which reports ≈0.2 s on sub-millisecond networks when few samples exist.
 */
export function peerRttEdge(seconds: number): number {
  const edge = PEER_RTT_EDGES.find((e) => e >= seconds);
  if (edge === undefined)
    throw new Error(`peer RTT threshold ${seconds}s is above etcd's largest bucket edge`);
  return edge;
}

/** `max by (labels) (expr)`: collapses duplicate series from replicated exporters and drops job/instance. */
export const maxBy = (labels: string, expr: string): string => `max by (${labels}) (${expr})`;

/**
 * `lhs op <its cluster's threshold>`: the threshold comes from the exporter's `etcd_monitor_threshold_*`
 * series, so a changed flag or clusters[] value takes effect at the next evaluation without re-rendering.
 * Where a cluster of `lhs` has no such series (Prometheus without the exporter's target, as in promtool
 * tests, or an exporter older than these series) the rendered `fallback` stands in. The result keeps the
 * labels and values of `lhs`. Replicated exporters of one cluster share its config; `max` merges them.
 */
export const compareToThreshold = (lhs: string, op: '>' | '<', series: string, fallback: number): string =>
  `${lhs} ${op} on (cluster) group_left () ` +
  `(${maxBy('cluster', series)} or on (cluster) ${num(fallback)} * group by (cluster) (${lhs}))`;
