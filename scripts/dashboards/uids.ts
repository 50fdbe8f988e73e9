/** The dashboards' uids: file names, and the targets of the links between them (Grafana links by uid). */
export const UID = {
  overview: 'etcd-cluster-overview',
  member: 'etcd-member-detail',
  multi: 'etcd-multi-cluster',
  bench: 'etcd-benchmark',
  self: 'etcd-monitor-self',
} as const;
