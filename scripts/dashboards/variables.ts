import type { VariableSpec } from './spec.js';

/** One cluster (every dashboard but the all-clusters one); queries filter by ONE_CLUSTER. */
export const clusterVar: VariableSpec = {
  name: 'cluster',
  label: 'Cluster',
  query: 'label_values(etcd_monitor_cluster_info, cluster)',
  multi: false,
};

/** Any clusters (the all-clusters dashboard), all by default; queries filter by CHOSEN_CLUSTERS. */
export const clustersVar: VariableSpec = {
  name: 'cluster',
  label: 'Clusters',
  query: 'label_values(etcd_monitor_cluster_info, cluster)',
  multi: true,
};

/** Any members of the chosen cluster, all by default; queries filter by CHOSEN_MEMBERS. */
export const memberVar: VariableSpec = {
  name: 'member',
  label: 'Member',
  query: 'label_values(etcd_monitor_member_info{cluster="$cluster"}, member)',
  multi: true,
};
