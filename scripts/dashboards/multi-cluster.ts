import { LATENCY_PROBE, RATIO_USAGE, WAL_FSYNC } from './colours.js';
import { timeseries } from './panel-builders.js';
import { dashboardUrl } from './render.js';
import { CHOSEN_CLUSTERS, quantile } from './selectors.js';
import type { DashboardSpec, PanelSpec, Target } from './spec.js';
import { UID } from './uids.js';
import { clustersVar } from './variables.js';

/** A cluster that has no alarm series yet still gets a 0, so the status column is never blank. */
const zeroPerCluster = `max by (cluster) (0 * etcd_monitor_cluster_info{${CHOSEN_CLUSTERS}})`;
/** Likewise a 1 for clusters whose members were not HashKV-compared yet. */
const onePerCluster = `max by (cluster) (etcd_monitor_cluster_info{${CHOSEN_CLUSTERS}} > bool 0)`;

// 0 healthy, 1 degraded (partition signal, alarm, below the minimum), 2 critical (no quorum, split brain,
// diverged data).
const STATUS = [
  `clamp_max(`,
  `  2 * (1 - max by (cluster) (etcd_monitor_cluster_quorum_available{${CHOSEN_CLUSTERS}}))`,
  `  + 2 * max by (cluster) (etcd_monitor_cluster_split_brain{${CHOSEN_CLUSTERS}})`,
  `  + 2 * (1 - (max by (cluster) (etcd_monitor_cluster_hash_consistent{${CHOSEN_CLUSTERS}}) or ${onePerCluster}))`,
  `  + max by (cluster) (etcd_monitor_cluster_partition_suspected{${CHOSEN_CLUSTERS}})`,
  `  + max by (cluster) (etcd_monitor_cluster_below_min_available{${CHOSEN_CLUSTERS}})`,
  `  + clamp_max(sum by (cluster) (etcd_monitor_member_alarm{${CHOSEN_CLUSTERS}}) or ${zeroPerCluster}, 1),`,
  `  2)`,
].join('\n');

/** One line per cluster over time. */
const compare = (
  title: string,
  description: string,
  unit: string,
  expr: string,
  extra: Partial<PanelSpec> = {},
): PanelSpec => timeseries(title, description, unit, [{ expr, legend: '{{cluster}}' }], extra);

/** Per-cluster values shown both as a column of the clusters table and as a comparison over time. */
const PER_CLUSTER = {
  healthyMembers: `max by (cluster) (etcd_monitor_cluster_members_healthy{${CHOSEN_CLUSTERS}})`,
  failureTolerance: `max by (cluster) (etcd_monitor_cluster_failure_tolerance{${CHOSEN_CLUSTERS}})`,
  largestDb: `max by (cluster) (etcd_monitor_member_db_size_bytes{${CHOSEN_CLUSTERS}})`,
  quotaUsed: `max by (cluster) (etcd_monitor_member_db_quota_usage_ratio{${CHOSEN_CLUSTERS}})`,
  probeP99: quantile(0.99, 'etcd_monitor_probe_duration_seconds', CHOSEN_CLUSTERS, 'cluster'),
  leaderChangesLastHour: `max by (cluster) (etcd_monitor_cluster_leader_changes_last_hour{${CHOSEN_CLUSTERS}})`,
};

/** A column of the clusters table: one instant value per cluster. */
const column = (name: string, expr: string): Target => ({ name, expr, table: true });

/** Every monitored cluster side by side. */
export const multiCluster: DashboardSpec = {
  uid: UID.multi,
  title: 'etcd / All clusters',
  summary: 'Every cluster in one table, and cross-cluster comparison',
  description:
    'Every etcd cluster the exporters monitor in one table (status, leader, members, database, latency, firing alerts), with panels comparing the clusters over time.',
  tags: ['etcd', 'multi-cluster'],
  variables: [clustersVar],
  rows: [
    {
      title: 'Clusters',
      panels: [
        {
          kind: 'table',
          title: 'Clusters',
          description:
            'One row per cluster. Status: Healthy, Degraded (partition signal, alarm, or fewer healthy members than the minimum) or Critical (quorum lost, split brain, or members whose data diverged in the HashKV check). Alerts counts alerts firing in Prometheus with that cluster label. Click a cluster for its overview.',
          w: 24,
          h: 9,
          targets: [
            column('status', STATUS),
            column(
              'leader',
              `max by (cluster, leader) (label_replace(etcd_monitor_member_is_leader{${CHOSEN_CLUSTERS}} == 1, "leader", "$1", "member", "(.*)"))`,
            ),
            column(
              'voting members',
              `sum by (cluster) (etcd_monitor_cluster_members{${CHOSEN_CLUSTERS}, role="voting"})`,
            ),
            column('healthy members', PER_CLUSTER.healthyMembers),
            column('failure tolerance', PER_CLUSTER.failureTolerance),
            column('largest db', PER_CLUSTER.largestDb),
            column('quota used', PER_CLUSTER.quotaUsed),
            column('probe p99', PER_CLUSTER.probeP99),
            column('leader changes', PER_CLUSTER.leaderChangesLastHour),
            // The watchdog always fires (with cluster="all"); it is not news about any cluster.
            column(
              'firing alerts',
              `count by (cluster) (ALERTS{alertstate="firing", alertname!="EtcdMonitorWatchdog", ${CHOSEN_CLUSTERS}}) or ${zeroPerCluster}`,
            ),
            column(
              'hash consistent',
              `max by (cluster) (etcd_monitor_cluster_hash_consistent{${CHOSEN_CLUSTERS}})`,
            ),
          ],
          columns: [
            // A constant 1 per leader; its leader label is the column.
            { value: 'leader', hidden: true },
            {
              label: 'cluster',
              header: 'Cluster',
              link: {
                title: 'Cluster overview',
                url: dashboardUrl(UID.overview, 'var-cluster=${__value.raw}'),
              },
            },
            { label: 'leader', header: 'Leader' },
            {
              value: 'status',
              header: 'Status',
              mappings: [
                { value: 0, text: 'Healthy', color: 'green' },
                { value: 1, text: 'Degraded', color: 'orange' },
                { value: 2, text: 'Critical', color: 'red' },
              ],
            },
            { value: 'voting members', header: 'Voting members', unit: 'none' },
            { value: 'healthy members', header: 'Healthy members', unit: 'none' },
            { value: 'failure tolerance', header: 'Failure tolerance', unit: 'none' },
            { value: 'largest db', header: 'Largest DB', unit: 'bytes' },
            { value: 'quota used', header: 'Quota used', unit: 'percentunit' },
            { value: 'probe p99', header: 'Probe p99', unit: 's' },
            { value: 'leader changes', header: 'Leader changes (1h)', unit: 'none' },
            { value: 'firing alerts', header: 'Firing alerts', unit: 'none' },
            {
              value: 'hash consistent',
              header: 'Data',
              mappings: [
                { value: 1, text: 'consistent', color: 'green' },
                { value: 0, text: 'DIVERGED', color: 'red' },
              ],
            },
          ],
        },
      ],
    },
    {
      title: 'Cluster tags',
      panels: [
        {
          kind: 'table',
          title: 'Cluster tags',
          description:
            'Tags given to each cluster in the exporter configuration (clusters[].tags), one column per tag; use them to tell environments and regions apart.',
          w: 24,
          h: 5,
          targets: [
            {
              name: 'tags',
              expr: `etcd_monitor_cluster_tags_info{${CHOSEN_CLUSTERS}}`,
              table: true,
              emptyWhenHealthy: 'only clusters with tags in the configuration file have this series',
            },
          ],
          // The info series' value is a constant 1; its tag labels are the columns.
          columns: [
            { value: 'tags', hidden: true },
            { label: '__name__', hidden: true },
            { label: 'job', hidden: true },
            { label: 'instance', hidden: true },
            { label: 'cluster', header: 'Cluster' },
          ],
        },
      ],
    },
    {
      title: 'Comparison',
      panels: [
        compare(
          'Probe latency p99',
          "99th percentile of the exporter's read and write probe, per cluster.",
          's',
          PER_CLUSTER.probeP99,
          { thresholds: LATENCY_PROBE },
        ),
        compare(
          'Request rate',
          'Unary client requests per second over all members of each cluster.',
          'reqps',
          `sum by (cluster) (etcd_monitor_member_requests_per_second{${CHOSEN_CLUSTERS}})`,
        ),
        compare(
          'Request errors',
          'Failed unary client requests per second over all members of each cluster.',
          'reqps',
          `sum by (cluster) (etcd_monitor_member_request_errors_per_second{${CHOSEN_CLUSTERS}})`,
        ),
        compare(
          'Largest database',
          'Database file size of the largest member of each cluster.',
          'bytes',
          PER_CLUSTER.largestDb,
        ),
        compare(
          'Quota used',
          'Database size as a share of the quota on the fullest member of each cluster.',
          'percentunit',
          PER_CLUSTER.quotaUsed,
          { thresholds: RATIO_USAGE, min: 0 },
        ),
        compare(
          'WAL fsync p99',
          'WAL fsync latency over all members of each cluster; disks are the usual cause of slow clusters.',
          's',
          quantile(0.99, 'etcd_disk_wal_fsync_duration_seconds', CHOSEN_CLUSTERS, 'cluster'),
          { thresholds: WAL_FSYNC },
        ),
        compare('Healthy members', 'Healthy members per cluster.', 'none', PER_CLUSTER.healthyMembers),
        compare(
          'Failure tolerance',
          'Voting members each cluster can still lose without losing quorum.',
          'none',
          PER_CLUSTER.failureTolerance,
        ),
        compare(
          'Leader changes (last hour)',
          'Leader changes each cluster went through in the last hour, as observed by the exporter.',
          'none',
          PER_CLUSTER.leaderChangesLastHour,
        ),
      ],
    },
  ],
};
