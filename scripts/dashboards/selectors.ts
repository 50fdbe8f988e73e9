// Label selectors every query is filtered by, so one Prometheus can hold many clusters: the exporter adds
// `cluster` and `member` to every series it exposes, including the etcd series it re-exposes.

/** The one cluster chosen in a single-valued `cluster` variable. */
export const ONE_CLUSTER = 'cluster="$cluster"';
/** The members chosen in the `member` variable, within the one chosen cluster. */
export const CHOSEN_MEMBERS = 'cluster="$cluster", member=~"$member"';
/** Every cluster chosen in a multi-valued `cluster` variable ("All" by default). */
export const CHOSEN_CLUSTERS = 'cluster=~"$cluster"';

/** p-quantile of a histogram by the given labels, over Grafana's rate interval. */
export function quantile(q: number, metric: string, selector: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket{${selector}}[$__rate_interval])))`;
}
