import type { ValueMap, VariableSpec } from './lib.js';

/** Selector of one cluster (single-valued `cluster` variable). */
export const C = 'cluster="$cluster"';
/** Selector of the chosen members of one cluster. */
export const CM = 'cluster="$cluster", member=~"$member"';

export const UID = {
  overview: 'etcd-cluster-overview',
  member: 'etcd-member-detail',
  multi: 'etcd-multi-cluster',
  bench: 'etcd-benchmark',
  self: 'etcd-monitor-self',
} as const;

export const clusterVar: VariableSpec = {
  name: 'cluster',
  label: 'Cluster',
  query: 'label_values(etcd_monitor_cluster_info, cluster)',
  multi: false,
};

export const memberVar: VariableSpec = {
  name: 'member',
  label: 'Member',
  query: 'label_values(etcd_monitor_member_info{cluster="$cluster"}, member)',
  multi: true,
};

export const OK_BAD: ValueMap[] = [
  { value: 1, text: 'OK', color: 'green' },
  { value: 0, text: 'FAILING', color: 'red' },
];

/** For 0/1 problem flags: 0 is good. */
export const NO_YES: ValueMap[] = [
  { value: 0, text: 'No', color: 'green' },
  { value: 1, text: 'YES', color: 'red' },
];

export const YES_NO: ValueMap[] = [
  { value: 1, text: 'Yes', color: 'green' },
  { value: 0, text: 'NO', color: 'red' },
];

/** p-quantile of a histogram by the given labels, over Grafana's rate interval. */
export function quantile(q: number, metric: string, selector: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${metric}_bucket{${selector}}[$__rate_interval])))`;
}

// Thresholds drawn from etcd's documentation and the exporter's defaults (max-latency-ms 100,
// max-leader-changes 3/hour), so the colours agree with what the exporter and alert rules report.
export const LATENCY_PROBE: Array<[number | null, string]> = [
  [null, 'green'],
  [0.05, 'yellow'],
  [0.1, 'red'],
];
export const WAL_FSYNC: Array<[number | null, string]> = [
  [null, 'green'],
  [0.01, 'yellow'],
  [0.05, 'red'],
];
export const BACKEND_COMMIT: Array<[number | null, string]> = [
  [null, 'green'],
  [0.025, 'yellow'],
  [0.125, 'red'],
];
export const PEER_RTT: Array<[number | null, string]> = [
  [null, 'green'],
  [0.05, 'yellow'],
  [0.15, 'red'],
];
export const RATIO_USAGE: Array<[number | null, string]> = [
  [null, 'green'],
  [0.8, 'yellow'],
  [0.9, 'red'],
];
export const APPLY_LAG: Array<[number | null, string]> = [
  [null, 'green'],
  [1000, 'yellow'],
  [5000, 'red'],
];
