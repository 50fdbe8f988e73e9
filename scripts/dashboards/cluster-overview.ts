import {
  C,
  LATENCY_PROBE,
  NO_YES,
  OK_BAD,
  RATIO_USAGE,
  APPLY_LAG,
  UID,
  YES_NO,
  clusterVar,
  quantile,
} from './common.js';
import { dashboardUrl, type DashboardSpec, type PanelSpec } from './lib.js';

/**
 * Why the exporter's requests to each member failed lately: the error code (etcd_monitor_collector_errors_total's
 * `code`) with the most failures in 5 minutes, one per member, and that count.
 */
const MEMBER_ERROR_CODE = `topk by (member) (1, sum by (member, code) (increase(etcd_monitor_collector_errors_total{${C}}[5m])) > 0)`;

/** Health states as numbers for one table column (value mappings turn them back into words). */
const HEALTH_STATE_CODES: readonly (readonly [string, number])[] = [
  ['healthy', 4],
  ['slow', 3],
  ['unreachable', 2],
  ['unhealthy', 1],
  ['down', 0],
];

const flag = (title: string, expr: string, description: string, w = 4): PanelSpec => ({
  kind: 'stat',
  title,
  description,
  w,
  h: 4,
  targets: [{ expr }],
  mappings: NO_YES,
  thresholds: [
    [null, 'green'],
    [1, 'red'],
  ],
});

const memberLink = {
  title: 'Member detail',
  url: dashboardUrl(UID.member, 'var-cluster=${cluster}&var-member=${__value.raw}'),
};

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
      expr: `changes(etcd_monitor_cluster_leader_changes_total{${C}}[2m]) > 0`,
      color: 'orange',
      emptyWhenHealthy: 'the leader only changes on elections',
    },
  ],
  rows: [
    {
      title: 'Health at a glance',
      panels: [
        {
          kind: 'stat',
          title: 'Quorum',
          description:
            'Whether enough voting members are healthy to commit writes (etcd_monitor_cluster_quorum_available).',
          w: 3,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_quorum_available{${C}}` }],
          mappings: [
            { value: 1, text: 'Available', color: 'green' },
            { value: 0, text: 'LOST', color: 'red' },
          ],
        },
        {
          kind: 'stat',
          title: 'Failure tolerance',
          description:
            'How many more voting members may fail before quorum is lost (healthy voting members minus quorum size).',
          w: 3,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_failure_tolerance{${C}}` }],
          thresholds: [
            [null, 'red'],
            [1, 'green'],
          ],
        },
        {
          kind: 'stat',
          title: 'Leader',
          description: 'Name of the member that is currently leader according to its own status.',
          w: 3,
          h: 4,
          textMode: 'name',
          targets: [
            { expr: `max by (member) (etcd_monitor_member_is_leader{${C}}) == 1`, legend: '{{member}}' },
          ],
          thresholds: [[null, 'blue']],
        },
        {
          kind: 'stat',
          title: 'Has leader',
          description:
            'Whether the cluster has a leader that its members agree on (etcd_monitor_cluster_has_leader).',
          w: 3,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_has_leader{${C}}` }],
          mappings: YES_NO,
        },
        {
          kind: 'stat',
          title: 'Members',
          description:
            'Healthy and reachable members, voting members in the member list, and the number of members configured as expected.',
          w: 6,
          h: 4,
          textMode: 'value_and_name',
          thresholds: [[null, 'blue']],
          targets: [
            { expr: `etcd_monitor_cluster_members_healthy{${C}}`, legend: 'healthy' },
            { expr: `etcd_monitor_cluster_members_reachable{${C}}`, legend: 'reachable' },
            { expr: `sum(etcd_monitor_cluster_members{${C}, role="voting"})`, legend: 'voting' },
            { expr: `etcd_monitor_cluster_expected_members{${C}}`, legend: 'expected' },
          ],
        },
        flag(
          'Below minimum',
          `etcd_monitor_cluster_below_min_available{${C}}`,
          'Whether fewer healthy voting members remain than --min-available-nodes.',
          3,
        ),
        {
          kind: 'stat',
          title: 'Active alarms',
          description:
            'Number of active NOSPACE or CORRUPT alarms across members, from the alarm list API (works on etcd 3.4 and 3.5, which do not export alarms as metrics).',
          w: 3,
          h: 4,
          targets: [{ expr: `sum(etcd_monitor_member_alarm{${C}})` }],
          thresholds: [
            [null, 'green'],
            [1, 'red'],
          ],
        },
        flag(
          'Split brain',
          `etcd_monitor_cluster_split_brain{${C}}`,
          'Whether two members claim leadership in the same raft term.',
        ),
        flag(
          'Partition suspected',
          `max(etcd_monitor_cluster_partition_suspected{${C}})`,
          'Whether any partition signal is raised: members disagree on the leader or term, a member has no leader, or an unreachable member still has connected peers. The reasons are in the table below.',
        ),
        flag(
          'Stale leader',
          `etcd_monitor_cluster_stale_leader{${C}}`,
          'Whether a member still claims leadership in an older term than the rest of the cluster.',
          3,
        ),
        {
          kind: 'stat',
          title: 'Leaders claimed',
          description:
            'Distinct leaders named by the reachable members; anything but 1 means no leader or members that disagree.',
          w: 3,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_leaders_claimed{${C}}` }],
          thresholds: [
            [null, 'red'],
            [1, 'green'],
            [2, 'red'],
          ],
        },
        {
          kind: 'stat',
          title: 'Cluster IDs',
          description:
            "Distinct cluster IDs in the members' Status answers; more than 1 means members of different clusters were configured as one (a split or a mis-wired endpoint).",
          w: 3,
          h: 4,
          targets: [{ expr: `count(etcd_monitor_cluster_info{${C}})` }],
          thresholds: [
            [null, 'red'],
            [1, 'green'],
            [2, 'red'],
          ],
        },
        {
          kind: 'stat',
          title: 'etcd versions',
          description:
            'Number of distinct etcd server versions in the cluster; more than one means an upgrade is in progress.',
          w: 3,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_distinct_versions{${C}}` }],
          thresholds: [
            [null, 'green'],
            [2, 'yellow'],
          ],
        },
        {
          kind: 'stat',
          title: 'Data age',
          description:
            'Seconds since the exporter last completed a collection of this cluster; keeps growing while the exporter is stuck or down.',
          w: 4,
          h: 4,
          unit: 's',
          decimals: 0,
          targets: [
            { expr: `time() - last_over_time(etcd_monitor_last_collection_timestamp_seconds{${C}}[1d])` },
          ],
          thresholds: [
            [null, 'green'],
            [60, 'yellow'],
            [180, 'red'],
          ],
        },
        {
          kind: 'stat',
          title: 'Data consistency',
          description:
            "Result of the exporter's last HashKV comparison of the members at one revision (every --hashkv-interval, 5 min by default): a member whose keys silently diverged shows here and in the member table.",
          w: 4,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_hash_consistent{${C}}` }],
          mappings: [
            { value: 1, text: 'Consistent', color: 'green' },
            { value: 0, text: 'DIVERGED', color: 'red' },
          ],
        },
        {
          kind: 'stat',
          title: 'Probe latency',
          description:
            "Whether the p99 of the latest health round's probe reads or writes (through each member) exceeds --max-latency-ms (100 ms by default); clears with the first round after recovery.",
          w: 4,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_probe_latency_above_max{${C}}` }],
          mappings: [
            { value: 0, text: 'OK', color: 'green' },
            { value: 1, text: 'TOO SLOW', color: 'red' },
          ],
        },
        {
          kind: 'stat',
          title: 'Leader stability',
          description: 'Whether leader changes in the last hour exceed --max-leader-changes (3 by default).',
          w: 4,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_leader_changes_above_max{${C}}` }],
          mappings: [
            { value: 0, text: 'OK', color: 'green' },
            { value: 1, text: 'UNSTABLE', color: 'red' },
          ],
        },
        {
          kind: 'stat',
          title: 'DB size limit',
          description:
            'Whether the database of any member is larger than --max-db-size-mb (8 GiB by default).',
          w: 4,
          h: 4,
          targets: [{ expr: `max(etcd_monitor_member_db_above_max_size{${C}})` }],
          mappings: [
            { value: 0, text: 'OK', color: 'green' },
            { value: 1, text: 'TOO LARGE', color: 'red' },
          ],
        },
        {
          kind: 'stat',
          title: 'Reachable',
          description: 'Whether the exporter reached at least one member in its latest round.',
          w: 4,
          h: 4,
          targets: [{ expr: `etcd_monitor_cluster_reachable{${C}}` }],
          mappings: YES_NO,
        },
        {
          kind: 'stat',
          title: 'Quorum size',
          description: 'Voting members needed for quorum: floor(voting / 2) + 1; learners do not count.',
          w: 4,
          h: 4,
          thresholds: [[null, 'blue']],
          targets: [{ expr: `etcd_monitor_cluster_quorum_size{${C}}` }],
        },
      ],
    },
    {
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
            { expr: `max by (member) (etcd_monitor_member_up{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_healthy{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_is_leader{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_is_learner{${C}})`, table: true },
            { expr: `max by (member, version) (etcd_monitor_member_info{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_db_size_bytes{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_db_quota_usage_ratio{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_raft_applied_index{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_apply_lag_entries{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_revision{${C}})`, table: true },
            { expr: `max by (member) (etcd_monitor_member_hash_mismatch{${C}})`, table: true },
            // One number per member from the state that is 1 (exactly one of the five always is).
            {
              expr: HEALTH_STATE_CODES.map(
                ([state, code]) =>
                  `max by (member) (etcd_monitor_member_health_state{${C},state="${state}"}) * ${code}`,
              ).join(' + '),
              table: true,
            },
            {
              expr: MEMBER_ERROR_CODE,
              table: true,
              emptyWhenHealthy: "a member has an error code only while the exporter's requests to it fail",
            },
          ],
          hide: ['Value #E'],
          columns: {
            member: { rename: 'Member', link: memberLink },
            version: { rename: 'Version' },
            'Value #A': { rename: 'Up', mappings: YES_NO },
            'Value #B': { rename: 'Healthy', mappings: OK_BAD },
            'Value #C': {
              rename: 'Leader',
              mappings: [
                { value: 1, text: 'leader', color: 'blue' },
                { value: 0, text: 'follower', color: 'text' },
              ],
            },
            'Value #D': {
              rename: 'Learner',
              mappings: [
                { value: 1, text: 'learner', color: 'purple' },
                { value: 0, text: 'voting', color: 'text' },
              ],
            },
            'Value #F': { rename: 'DB size', unit: 'bytes' },
            'Value #G': { rename: 'Quota used', unit: 'percentunit' },
            'Value #H': { rename: 'Applied index', unit: 'none' },
            'Value #I': { rename: 'Apply lag', unit: 'none' },
            'Value #J': { rename: 'Revision', unit: 'none' },
            'Value #L': {
              rename: 'Health state',
              mappings: [
                { value: 4, text: 'healthy', color: 'green' },
                { value: 3, text: 'slow', color: 'orange' },
                { value: 2, text: 'unreachable', color: 'yellow' },
                { value: 1, text: 'unhealthy', color: 'red' },
                { value: 0, text: 'down', color: 'red' },
              ],
            },
            code: { rename: 'Error (5m)' },
            'Value #M': { rename: 'Failed requests (5m)', unit: 'none' },
            'Value #K': {
              rename: 'HashKV',
              mappings: [
                { value: 0, text: 'matches', color: 'green' },
                { value: 1, text: 'DIVERGED', color: 'red' },
              ],
            },
          },
        },
        {
          kind: 'table',
          title: 'Partition signals',
          description:
            'Each partition signal the exporter evaluates, 1 when raised: leader or term disagreement between members, a member without a leader, an unreachable member whose peers still see it connected, or a member and its leader both answering while one has no raft stream to the other (one-way partition).',
          w: 8,
          h: 8,
          targets: [
            { expr: `max by (reason) (etcd_monitor_cluster_partition_suspected{${C}})`, table: true },
          ],
          columns: { reason: { rename: 'Signal' }, Value: { rename: 'Raised', mappings: NO_YES } },
        },
      ],
    },
    {
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
              expr: `max by (alertname, severity, member) (ALERTS{alertstate="firing", ${C}})`,
              table: true,
              emptyWhenHealthy: 'no alert fires for a healthy cluster',
            },
          ],
          hide: ['Value'],
          columns: {
            alertname: { rename: 'Alert' },
            severity: { rename: 'Severity' },
            member: { rename: 'Member' },
          },
        },
      ],
    },
    {
      title: 'Requests (rate, errors, duration)',
      panels: [
        {
          kind: 'timeseries',
          title: 'Request rate by member',
          description:
            'Client requests per second served by each member (gRPC RPCs started, from its /metrics).',
          w: 8,
          h: 8,
          unit: 'reqps',
          stack: true,
          targets: [
            { expr: `sum by (member) (etcd_monitor_member_requests_per_second{${C}})`, legend: '{{member}}' },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Unary RPC rate by method',
          description:
            'Unary gRPC calls per second by method across the cluster (etcd grpc_server_started_total).',
          w: 8,
          h: 8,
          unit: 'reqps',
          targets: [
            {
              expr: `sum by (grpc_method) (rate(grpc_server_started_total{${C}, grpc_type="unary"}[$__rate_interval]))`,
              legend: '{{grpc_method}}',
            },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Request errors',
          description:
            'Failed requests per second by member, and unary gRPC calls finished with a non-OK code by method and code. Streams (Watch, LeaseKeepAlive) are left out because clients ending a stream count as errors.',
          w: 8,
          h: 8,
          unit: 'reqps',
          targets: [
            {
              expr: `sum by (member) (etcd_monitor_member_request_errors_per_second{${C}})`,
              legend: '{{member}}',
            },
            {
              expr: `sum by (grpc_method, grpc_code) (rate(grpc_server_handled_total{${C}, grpc_type="unary", grpc_code!="OK"}[$__rate_interval]))`,
              legend: '{{grpc_method}} {{grpc_code}}',
            },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Probe latency p99 by member',
          description:
            "99th percentile of the exporter's own read and write probe against each member; the request duration a client sees. Red above --max-latency-ms (100 ms by default).",
          w: 12,
          h: 8,
          unit: 's',
          thresholds: LATENCY_PROBE,
          targets: [
            {
              expr: quantile(0.99, 'etcd_monitor_probe_duration_seconds', C, 'member, operation'),
              legend: '{{member}} {{operation}}',
            },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Probe latency quantiles',
          description: 'Median, 90th and 99th percentile probe latency over all members, by operation.',
          w: 8,
          h: 8,
          unit: 's',
          thresholds: LATENCY_PROBE,
          targets: [0.5, 0.9, 0.99].map((q) => ({
            expr: quantile(q, 'etcd_monitor_probe_duration_seconds', C, 'operation'),
            legend: `p${q * 100} {{operation}}`,
          })),
        },
        {
          kind: 'stat',
          title: 'Probe success',
          description: 'Whether the latest read and write probe succeeded on every member.',
          w: 4,
          h: 8,
          textMode: 'value_and_name',
          targets: [
            { expr: `min by (operation) (etcd_monitor_probe_success{${C}})`, legend: '{{operation}}' },
          ],
          mappings: OK_BAD,
        },
      ],
    },
    {
      title: 'Database size and quota',
      panels: [
        {
          kind: 'timeseries',
          title: 'Database size',
          description:
            'Physical database file size and its logically used part per member, against the configured backend quota. The gap between total and in-use is reclaimable by defragmentation.',
          w: 12,
          h: 8,
          unit: 'bytes',
          targets: [
            { expr: `etcd_monitor_member_db_size_bytes{${C}}`, legend: '{{member}} total' },
            { expr: `etcd_monitor_member_db_size_in_use_bytes{${C}}`, legend: '{{member}} in use' },
            { expr: `max(etcd_monitor_member_db_quota_bytes{${C}})`, legend: 'quota' },
          ],
        },
        {
          kind: 'gauge',
          title: 'Quota used',
          description:
            'Database size as a share of the backend quota on the fullest member; at 100 % etcd raises NOSPACE and refuses writes.',
          w: 6,
          h: 8,
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: RATIO_USAGE,
          targets: [{ expr: `max(etcd_monitor_member_db_quota_usage_ratio{${C}})` }],
        },
        {
          kind: 'bargauge',
          title: 'Fragmentation',
          description:
            'Share of each database file that is free space (1 − in use / total); above 50 % on a large database, defragment one member at a time.',
          w: 6,
          h: 8,
          unit: 'percentunit',
          min: 0,
          max: 1,
          thresholds: [
            [null, 'green'],
            [0.5, 'yellow'],
          ],
          targets: [{ expr: `etcd_monitor_member_db_fragmentation_ratio{${C}}`, legend: '{{member}}' }],
        },
        {
          kind: 'timeseries',
          title: 'Database growth',
          description: 'Rate of change of the database file size per member, as estimated by the exporter.',
          w: 12,
          h: 7,
          unit: 'Bps',
          targets: [{ expr: `etcd_monitor_member_db_growth_bytes_per_second{${C}}`, legend: '{{member}}' }],
        },
        {
          kind: 'stat',
          title: 'Time until quota is full',
          description:
            'At the current growth rate, time until the fullest member reaches the quota (the shortest across members).',
          w: 12,
          h: 7,
          unit: 's',
          thresholds: [
            [null, 'red'],
            [86_400, 'yellow'],
            [604_800, 'green'],
          ],
          targets: [
            {
              expr: `min(etcd_monitor_member_db_seconds_until_quota_full{${C}})`,
              emptyWhenHealthy: 'only present while the database grows',
            },
          ],
        },
      ],
    },
    {
      title: 'Leader changes and consensus',
      panels: [
        {
          kind: 'stat',
          title: 'Leader changes (last hour)',
          description:
            'Leader changes the exporter observed in the last hour; red above --max-leader-changes (3 by default). Frequent elections mean slow disks, an overloaded network or CPU starvation.',
          w: 6,
          h: 7,
          targets: [{ expr: `etcd_monitor_cluster_leader_changes_last_hour{${C}}` }],
          thresholds: [
            [null, 'green'],
            [1, 'yellow'],
            [4, 'red'],
          ],
        },
        {
          kind: 'timeseries',
          title: 'Leader changes per hour',
          description:
            "Leader changes over the past hour as observed by the exporter, and as counted by each member's own etcd_server_leader_changes_seen_total.",
          w: 6,
          h: 7,
          unit: 'short',
          targets: [
            {
              expr: `increase(etcd_monitor_cluster_leader_changes_total{${C}}[1h])`,
              legend: 'observed by exporter',
            },
            {
              expr: `sum by (member) (increase(etcd_server_leader_changes_seen_total{${C}}[1h]))`,
              legend: 'seen by {{member}}',
            },
          ],
        },
        {
          kind: 'stat',
          title: 'Since last leader change',
          description: 'Time since the exporter last saw the leader or the raft term change.',
          w: 6,
          h: 7,
          unit: 's',
          decimals: 0,
          thresholds: [
            [null, 'yellow'],
            [3600, 'green'],
          ],
          targets: [
            {
              expr: `time() - etcd_monitor_cluster_last_leader_change_timestamp_seconds{${C}}`,
              emptyWhenHealthy: 'no leader change has been observed since the exporter started',
            },
          ],
        },
        {
          kind: 'timeseries',
          title: 'Apply lag',
          description:
            'Committed but not yet applied raft entries per member; etcd keeps this within a few thousand even under load.',
          w: 6,
          h: 7,
          unit: 'none',
          thresholds: APPLY_LAG,
          targets: [{ expr: `etcd_monitor_member_apply_lag_entries{${C}}`, legend: '{{member}}' }],
        },
      ],
    },
  ],
};
