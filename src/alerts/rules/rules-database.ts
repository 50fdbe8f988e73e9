import { compareToThreshold, maxBy, num, window } from './promql.js';
import type { RuleSettings } from './settings.js';
import type { AlertDef, GroupDef } from './types.js';

const BY_MEMBER = 'cluster, member';
const MIN = 60_000;

/** Backend database: quota tiers, growth, fragmentation, size limit and etcd's NOSPACE/CORRUPT alarms. */
export function databaseGroup(s: RuleSettings): GroupDef {
  const reclaimable = 'cluster_member:etcd_monitor_member_db_reclaimable_bytes:max';
  const quota = (severity: AlertDef['severity'], ratio: number): AlertDef => ({
    alert: 'EtcdDatabaseQuotaLowSpace',
    expr: `${maxBy(BY_MEMBER, 'etcd_monitor_member_db_quota_usage_ratio')} > ${num(ratio)}`,
    forMs: 10 * MIN,
    severity,
    summary: 'etcd database is filling its space quota.',
    description: `The database of member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} uses more than ${num(ratio * 100)}% of its quota; at 100% etcd raises NOSPACE and refuses writes.`,
  });
  return {
    name: 'etcd-monitor.database',
    rules: [
      {
        record: reclaimable,
        expr: `${maxBy(BY_MEMBER, 'etcd_monitor_member_db_size_bytes')} - ${maxBy(BY_MEMBER, 'etcd_monitor_member_db_size_in_use_bytes')}`,
      },
      quota('info', s.quotaInfoRatio),
      quota('warning', s.quotaWarningRatio),
      quota('critical', s.quotaCriticalRatio),
      {
        // In-use bytes, not the file size: a defragmentation shrinks the file but not the in-use size,
        // so the drop afterwards can neither fake growth nor hide it.
        alert: 'EtcdExcessiveDatabaseGrowth',
        expr:
          `${maxBy(BY_MEMBER, `predict_linear(etcd_monitor_member_db_size_in_use_bytes[${window(s.growthHorizon)}], ${num(s.growthHorizon / 1000)})`)}` +
          ` > ${maxBy(BY_MEMBER, 'etcd_monitor_member_db_quota_bytes')}`,
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd database is predicted to reach its quota soon.',
        description: `At the growth rate of the last ${window(s.growthHorizon)}, the in-use database of member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} reaches its quota within ${window(s.growthHorizon)}.`,
      },
      {
        alert: 'EtcdDatabaseHighFragmentation',
        expr:
          `${reclaimable} / ${maxBy(BY_MEMBER, 'etcd_monitor_member_db_size_bytes')} > ${num(s.fragmentationRatio)}` +
          ` and ${reclaimable} > ${num(s.fragmentationMinQuotaRatio)} * ${maxBy(BY_MEMBER, 'etcd_monitor_member_db_quota_bytes')}`,
        forMs: 30 * MIN,
        severity: 'warning',
        summary: 'etcd database is fragmented; a defragmentation would free much space.',
        description: `More than ${num(s.fragmentationRatio * 100)}% of the database file of member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} is free pages, and they exceed ${num(s.fragmentationMinQuotaRatio * 100)}% of the quota.`,
      },
      {
        alert: 'EtcdDatabaseSizeAboveLimit',
        expr: compareToThreshold(
          maxBy(BY_MEMBER, 'etcd_monitor_member_db_size_bytes'),
          '>',
          'etcd_monitor_threshold_max_db_size_bytes',
          s.maxDbSizeMb * 1024 * 1024,
        ),
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd database is larger than the configured limit.',
        description: `The database file of member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} is larger than its cluster's limit (etcd_monitor_threshold_max_db_size_bytes from --max-db-size-mb or clusters[].max_db_size_mb; ${num(s.maxDbSizeMb)} MiB where the exporter exports none).`,
      },
      {
        alert: 'EtcdNoSpaceAlarm',
        expr: `${maxBy(BY_MEMBER, 'etcd_monitor_member_alarm{alarm="NOSPACE"}')} == 1`,
        forMs: 0,
        severity: 'critical',
        summary: 'etcd raised the NOSPACE alarm; the cluster refuses writes.',
        description:
          'Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} raised the NOSPACE alarm: the cluster only serves reads and deletes until it is compacted, defragmented and the alarm is disarmed.',
      },
      {
        alert: 'EtcdCorruptAlarm',
        expr: `${maxBy(BY_MEMBER, 'etcd_monitor_member_alarm{alarm="CORRUPT"}')} == 1`,
        forMs: 0,
        severity: 'critical',
        summary: 'etcd raised the CORRUPT alarm; a member holds divergent data.',
        description:
          'The CORRUPT alarm is active for member {{ $labels.member }} of etcd cluster {{ $labels.cluster }}: its data differs from its peers.',
      },
    ],
  };
}
