import { NO_YES, OK_BAD, YES_NO } from './colours.js';
import { dashboardUrl } from './render.js';
import { ONE_CLUSTER } from './selectors.js';
import type { RowSpec, Target } from './spec.js';
import { UID } from './uids.js';

/**
 * Why the exporter's requests to each member failed lately: the error code (etcd_monitor_collector_errors_total's
 * `code`) with the most failures in 5 minutes, one per member, and that count.
 */
const MEMBER_ERROR_CODE = `topk by (member) (1, sum by (member, code) (increase(etcd_monitor_collector_errors_total{${ONE_CLUSTER}}[5m])) > 0)`;

/**
 * The member health states as numbers for one table column, and how the column shows them again: one
 * number per member from the state series that is 1 (exactly one of the five always is).
 */
const HEALTH_STATES: ReadonlyArray<{ state: string; code: number; color: string }> = [
  { state: 'healthy', code: 4, color: 'green' },
  { state: 'slow', code: 3, color: 'orange' },
  { state: 'unreachable', code: 2, color: 'yellow' },
  { state: 'unhealthy', code: 1, color: 'red' },
  { state: 'down', code: 0, color: 'red' },
];
const HEALTH_STATE_CODE = HEALTH_STATES.map(
  ({ state, code }) =>
    `max by (member) (etcd_monitor_member_health_state{${ONE_CLUSTER},state="${state}"}) * ${code}`,
).join(' + ');

/** One value per member of a per-member series, as a table column. */
const perMember = (name: string, metric: string): Target => ({
  name,
  expr: `max by (member) (${metric}{${ONE_CLUSTER}})`,
  table: true,
});

/** From a member's name in the table to its member-detail dashboard, same cluster and time range. */
const memberLink = {
  title: 'Member detail',
  url: dashboardUrl(UID.member, 'var-cluster=${cluster}&var-member=${__value.raw}'),
};

/** One table row per member, and which partition signals are raised. */
export const membersRow: RowSpec = {
  title: 'Members',
  panels: [
    {
      kind: 'table',
      title: 'Members',
      description:
        "One row per member: reachability, /health, health state (slow = /health fails but raft advances; unreachable = the exporter cannot reach it but a peer receives raft traffic from it), role, version, database size, quota usage, applied index, apply lag, revision, whether its HashKV matched the majority, and why the exporter's requests to it failed in the last 5 minutes (the most frequent error code, e.g. CONNECTION_REFUSED, REQUEST_TIMEOUT, TLS_CERT_EXPIRED; empty when none failed). Click a member for its detail dashboard.",
      w: 16,
      h: 8,
      targets: [
        perMember('up', 'etcd_monitor_member_up'),
        perMember('healthy', 'etcd_monitor_member_healthy'),
        perMember('leader', 'etcd_monitor_member_is_leader'),
        perMember('learner', 'etcd_monitor_member_is_learner'),
        {
          name: 'info',
          expr: `max by (member, version) (etcd_monitor_member_info{${ONE_CLUSTER}})`,
          table: true,
        },
        perMember('db size', 'etcd_monitor_member_db_size_bytes'),
        perMember('quota used', 'etcd_monitor_member_db_quota_usage_ratio'),
        perMember('applied index', 'etcd_monitor_member_raft_applied_index'),
        perMember('apply lag', 'etcd_monitor_member_apply_lag_entries'),
        perMember('revision', 'etcd_monitor_member_revision'),
        perMember('hash mismatch', 'etcd_monitor_member_hash_mismatch'),
        { name: 'health state', expr: HEALTH_STATE_CODE, table: true },
        {
          name: 'error code',
          expr: MEMBER_ERROR_CODE,
          table: true,
          emptyWhenHealthy: "a member has an error code only while the exporter's requests to it fail",
        },
      ],
      columns: [
        // The info series' value is a constant 1; its version label is the column.
        { value: 'info', hidden: true },
        { label: 'member', header: 'Member', link: memberLink },
        { label: 'version', header: 'Version' },
        { value: 'up', header: 'Up', mappings: YES_NO },
        { value: 'healthy', header: 'Healthy', mappings: OK_BAD },
        {
          value: 'leader',
          header: 'Leader',
          mappings: [
            { value: 1, text: 'leader', color: 'blue' },
            { value: 0, text: 'follower', color: 'text' },
          ],
        },
        {
          value: 'learner',
          header: 'Learner',
          mappings: [
            { value: 1, text: 'learner', color: 'purple' },
            { value: 0, text: 'voting', color: 'text' },
          ],
        },
        { value: 'db size', header: 'DB size', unit: 'bytes' },
        { value: 'quota used', header: 'Quota used', unit: 'percentunit' },
        { value: 'applied index', header: 'Applied index', unit: 'none' },
        { value: 'apply lag', header: 'Apply lag', unit: 'none' },
        { value: 'revision', header: 'Revision', unit: 'none' },
        {
          value: 'health state',
          header: 'Health state',
          mappings: HEALTH_STATES.map(({ state, code, color }) => ({ value: code, text: state, color })),
        },
        { label: 'code', header: 'Error (5m)' },
        { value: 'error code', header: 'Failed requests (5m)', unit: 'none' },
        {
          value: 'hash mismatch',
          header: 'HashKV',
          mappings: [
            { value: 0, text: 'matches', color: 'green' },
            { value: 1, text: 'DIVERGED', color: 'red' },
          ],
        },
      ],
    },
    {
      kind: 'table',
      title: 'Partition signals',
      description:
        'Each partition signal the exporter evaluates, 1 when raised: leader or term disagreement between members, a member without a leader, an unreachable member whose peers still see it connected, or a member and its leader both answering while one has no raft stream to the other (one-way partition).',
      w: 8,
      h: 8,
      targets: [
        {
          name: 'raised',
          expr: `max by (reason) (etcd_monitor_cluster_partition_suspected{${ONE_CLUSTER}})`,
          table: true,
        },
      ],
      columns: [
        { label: 'reason', header: 'Signal' },
        { value: 'raised', header: 'Raised', mappings: NO_YES },
      ],
    },
  ],
};

/** Alerts of the bundled rules firing for this cluster. */
export const alertsRow: RowSpec = {
  title: 'Alerts',
  panels: [
    {
      kind: 'table',
      title: 'Firing alerts',
      description:
        'Alerts from the bundled rules (alert-rules/) firing for this cluster in Prometheus, with their severity and member; each has a runbook linked from its notification.',
      w: 24,
      h: 6,
      targets: [
        {
          name: 'firing',
          expr: `max by (alertname, severity, member) (ALERTS{alertstate="firing", ${ONE_CLUSTER}})`,
          table: true,
          emptyWhenHealthy: 'no alert fires for a healthy cluster',
        },
      ],
      columns: [
        // Always 1: the labels are the columns.
        { value: 'firing', hidden: true },
        { label: 'alertname', header: 'Alert' },
        { label: 'severity', header: 'Severity' },
        { label: 'member', header: 'Member' },
      ],
    },
  ],
};
