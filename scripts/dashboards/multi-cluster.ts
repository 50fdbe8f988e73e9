import { LATENCY_PROBE, RATIO_USAGE, UID, WAL_FSYNC, quantile } from './common.js';
import { dashboardUrl, type DashboardSpec, type PanelSpec } from './lib.js';

/** Selector of every chosen cluster (multi-valued `cluster` variable, "All" by default). */
const S = 'cluster=~"$cluster"';

/** A cluster that has no alarm series yet still gets a 0, so the status column is never blank. */
const zeroPerCluster = `max by (cluster) (0 * etcd_monitor_cluster_info{${S}})`;
/** Likewise a 1 for clusters whose members were not HashKV-compared yet. */
const onePerCluster = `max by (cluster) (etcd_monitor_cluster_info{${S}} > bool 0)`;

// 0 healthy, 1 degraded (partition signal, alarm, below the minimum), 2 critical (no quorum, split brain,
// diverged data).
const STATUS = [
  `clamp_max(`,
  `  2 * (1 - max by (cluster) (etcd_monitor_cluster_quorum_available{${S}}))`,
  `  + 2 * max by (cluster) (etcd_monitor_cluster_split_brain{${S}})`,
  `  + 2 * (1 - (max by (cluster) (etcd_monitor_cluster_hash_consistent{${S}}) or ${onePerCluster}))`,
  `  + max by (cluster) (etcd_monitor_cluster_partition_suspected{${S}})`,
  `  + max by (cluster) (etcd_monitor_cluster_below_min_available{${S}})`,
  `  + clamp_max(sum by (cluster) (etcd_monitor_member_alarm{${S}}) or ${zeroPerCluster}, 1),`,
  `  2)`,
].join('\n');

const compare = (
  title: string,
  description: string,
  unit: string,
  expr: string,
  extra: Partial<PanelSpec> = {},
) =>
  ({
    kind: 'timeseries',
    title,
    description,
    unit,
    w: 8,
    h: 8,
    targets: [{ expr, legend: '{{cluster}}' }],
    ...extra,
  }) satisfies PanelSpec;

/** Every monitored cluster side by side. */
export const multiCluster: DashboardSpec = {
  uid: UID.multi,
  title: 'etcd / All clusters',
  summary: 'Every cluster in one table, and cross-cluster comparison',
  description:
    'Every etcd cluster the exporters monitor in one table (status, leader, members, database, latency, firing alerts), with panels comparing the clusters over time.',
  tags: ['etcd', 'multi-cluster'],
  variables: [
    {
      name: 'cluster',
      label: 'Clusters',
      query: 'label_values(etcd_monitor_cluster_info, cluster)',
      multi: true,
    },
  ],
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
            { expr: STATUS, table: true },
            {
              expr: `max by (cluster, leader) (label_replace(etcd_monitor_member_is_leader{${S}} == 1, "leader", "$1", "member", "(.*)"))`,
              table: true,
            },
            { expr: `sum by (cluster) (etcd_monitor_cluster_members{${S}, role="voting"})`, table: true },
            { expr: `max by (cluster) (etcd_monitor_cluster_members_healthy{${S}})`, table: true },
            { expr: `max by (cluster) (etcd_monitor_cluster_failure_tolerance{${S}})`, table: true },
            { expr: `max by (cluster) (etcd_monitor_member_db_size_bytes{${S}})`, table: true },
            { expr: `max by (cluster) (etcd_monitor_member_db_quota_usage_ratio{${S}})`, table: true },
            { expr: quantile(0.99, 'etcd_monitor_probe_duration_seconds', S, 'cluster'), table: true },
            { expr: `max by (cluster) (etcd_monitor_cluster_leader_changes_last_hour{${S}})`, table: true },
            {
              // The watchdog always fires (with cluster="all"); it is not news about any cluster.
              expr: `count by (cluster) (ALERTS{alertstate="firing", alertname!="EtcdMonitorWatchdog", ${S}}) or ${zeroPerCluster}`,
              table: true,
            },
            { expr: `max by (cluster) (etcd_monitor_cluster_hash_consistent{${S}})`, table: true },
          ],
          hide: ['Value #B'],
          columns: {
            cluster: {
              rename: 'Cluster',
              link: {
                title: 'Cluster overview',
                url: dashboardUrl(UID.overview, 'var-cluster=${__value.raw}'),
              },
            },
            leader: { rename: 'Leader' },
            'Value #A': {
              rename: 'Status',
              mappings: [
                { value: 0, text: 'Healthy', color: 'green' },
                { value: 1, text: 'Degraded', color: 'orange' },
                { value: 2, text: 'Critical', color: 'red' },
              ],
            },
            'Value #C': { rename: 'Voting members', unit: 'none' },
            'Value #D': { rename: 'Healthy members', unit: 'none' },
            'Value #E': { rename: 'Failure tolerance', unit: 'none' },
            'Value #F': { rename: 'Largest DB', unit: 'bytes' },
            'Value #G': { rename: 'Quota used', unit: 'percentunit' },
            'Value #H': { rename: 'Probe p99', unit: 's' },
            'Value #I': { rename: 'Leader changes (1h)', unit: 'none' },
            'Value #J': { rename: 'Firing alerts', unit: 'none' },
            'Value #K': {
              rename: 'Data',
              mappings: [
                { value: 1, text: 'consistent', color: 'green' },
                { value: 0, text: 'DIVERGED', color: 'red' },
              ],
            },
          },
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
              expr: `etcd_monitor_cluster_tags_info{${S}}`,
              table: true,
              emptyWhenHealthy: 'only clusters with tags in the configuration file have this series',
            },
          ],
          hide: ['Value', '__name__', 'job', 'instance'],
          columns: { cluster: { rename: 'Cluster' } },
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
          quantile(0.99, 'etcd_monitor_probe_duration_seconds', S, 'cluster'),
          { thresholds: LATENCY_PROBE },
        ),
        compare(
          'Request rate',
          'Unary client requests per second over all members of each cluster.',
          'reqps',
          `sum by (cluster) (etcd_monitor_member_requests_per_second{${S}})`,
        ),
        compare(
          'Request errors',
          'Failed unary client requests per second over all members of each cluster.',
          'reqps',
          `sum by (cluster) (etcd_monitor_member_request_errors_per_second{${S}})`,
        ),
        compare(
          'Largest database',
          'Database file size of the largest member of each cluster.',
          'bytes',
          `max by (cluster) (etcd_monitor_member_db_size_bytes{${S}})`,
        ),
        compare(
          'Quota used',
          'Database size as a share of the quota on the fullest member of each cluster.',
          'percentunit',
          `max by (cluster) (etcd_monitor_member_db_quota_usage_ratio{${S}})`,
          { thresholds: RATIO_USAGE, min: 0 },
        ),
        compare(
          'WAL fsync p99',
          'WAL fsync latency over all members of each cluster; disks are the usual cause of slow clusters.',
          's',
          quantile(0.99, 'etcd_disk_wal_fsync_duration_seconds', S, 'cluster'),
          { thresholds: WAL_FSYNC },
        ),
        compare(
          'Healthy members',
          'Healthy members per cluster.',
          'none',
          `max by (cluster) (etcd_monitor_cluster_members_healthy{${S}})`,
        ),
        compare(
          'Failure tolerance',
          'Voting members each cluster can still lose without losing quorum.',
          'none',
          `max by (cluster) (etcd_monitor_cluster_failure_tolerance{${S}})`,
        ),
        compare(
          'Leader changes (last hour)',
          'Leader changes each cluster went through in the last hour, as observed by the exporter.',
          'none',
          `max by (cluster) (etcd_monitor_cluster_leader_changes_last_hour{${S}})`,
        ),
      ],
    },
  ],
};
