import type { VariableSpec } from './spec.js';

/** One cluster (the single-cluster dashboards; the all-clusters dashboard has its own multi-valued one). */
export const clusterVar: VariableSpec = {
  name: 'cluster',
  label: 'Cluster',
  query: 'label_values(etcd_monitor_cluster_info, cluster)',
  multi: false,
};

/** Any members of the chosen cluster, all by default. */
export const memberVar: VariableSpec = {
  name: 'member',
  label: 'Member',
  query: 'label_values(etcd_monitor_member_info{cluster="$cluster"}, member)',
  multi: true,
};
