import { clusterVar } from './variables.js';
import { healthRow } from './cluster-overview-health.js';
import { alertsRow, membersRow } from './cluster-overview-members.js';
import { databaseRow, leaderRow, requestsRow } from './cluster-overview-trends.js';
import { ONE_CLUSTER } from './selectors.js';
import type { DashboardSpec } from './spec.js';
import { UID } from './uids.js';

// The rows live in cluster-overview-*.ts, one file per part of the page.

/** One cluster at a glance: consensus health, requests, probe latency, database size and leader stability. */
export const clusterOverview: DashboardSpec = {
  uid: UID.overview,
  title: 'etcd / Cluster overview',
  summary:
    'One cluster at a glance: quorum, leader, members, alarms, split brain and partitions, RED, probe latency, DB size, leader changes',
  description:
    'Health of one etcd cluster as derived by etcd-monitor: quorum, leader, members, alarms, split-brain and partition signals, request rates and errors, probe latency, database size against quota, and leader changes.',
  tags: ['etcd', 'overview'],
  variables: [clusterVar],
  annotations: [
    {
      name: 'Leader change',
      expr: `changes(etcd_monitor_cluster_leader_changes_total{${ONE_CLUSTER}}[2m]) > 0`,
      color: 'orange',
      emptyWhenHealthy: 'the leader only changes on elections',
    },
  ],
  rows: [healthRow, membersRow, alertsRow, requestsRow, databaseRow, leaderRow],
};
