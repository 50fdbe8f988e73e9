import { NO_YES, YES_NO } from './colours.js';
import { ONE_CLUSTER } from './selectors.js';
import { dataAge } from './shared-panels.js';
import type { PanelSpec, RowSpec } from './spec.js';

/** A 0/1 problem flag of the cluster: "No" in green, "YES" in red. */
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

/** The top of the cluster overview: one stat per health signal the exporter derives, red when it is raised. */
export const healthRow: RowSpec = {
  title: 'Health at a glance',
  panels: [
    {
      kind: 'stat',
      title: 'Quorum',
      description:
        'Whether enough voting members are healthy to commit writes (etcd_monitor_cluster_quorum_available).',
      w: 3,
      h: 4,
      targets: [{ expr: `etcd_monitor_cluster_quorum_available{${ONE_CLUSTER}}` }],
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
      targets: [{ expr: `etcd_monitor_cluster_failure_tolerance{${ONE_CLUSTER}}` }],
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
        {
          expr: `max by (member) (etcd_monitor_member_is_leader{${ONE_CLUSTER}}) == 1`,
          legend: '{{member}}',
        },
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
      targets: [{ expr: `etcd_monitor_cluster_has_leader{${ONE_CLUSTER}}` }],
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
        { expr: `etcd_monitor_cluster_members_healthy{${ONE_CLUSTER}}`, legend: 'healthy' },
        { expr: `etcd_monitor_cluster_members_reachable{${ONE_CLUSTER}}`, legend: 'reachable' },
        { expr: `sum(etcd_monitor_cluster_members{${ONE_CLUSTER}, role="voting"})`, legend: 'voting' },
        { expr: `etcd_monitor_cluster_expected_members{${ONE_CLUSTER}}`, legend: 'expected' },
      ],
    },
    flag(
      'Below minimum',
      `etcd_monitor_cluster_below_min_available{${ONE_CLUSTER}}`,
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
      targets: [{ expr: `sum(etcd_monitor_member_alarm{${ONE_CLUSTER}})` }],
      thresholds: [
        [null, 'green'],
        [1, 'red'],
      ],
    },
    flag(
      'Split brain',
      `etcd_monitor_cluster_split_brain{${ONE_CLUSTER}}`,
      'Whether two members claim leadership in the same raft term.',
    ),
    flag(
      'Partition suspected',
      `max(etcd_monitor_cluster_partition_suspected{${ONE_CLUSTER}})`,
      'Whether any partition signal is raised: members disagree on the leader or term, a member has no leader, or an unreachable member still has connected peers. The reasons are in the table below.',
    ),
    flag(
      'Stale leader',
      `etcd_monitor_cluster_stale_leader{${ONE_CLUSTER}}`,
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
      targets: [{ expr: `etcd_monitor_cluster_leaders_claimed{${ONE_CLUSTER}}` }],
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
      targets: [{ expr: `count(etcd_monitor_cluster_info{${ONE_CLUSTER}})` }],
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
      targets: [{ expr: `etcd_monitor_cluster_distinct_versions{${ONE_CLUSTER}}` }],
      thresholds: [
        [null, 'green'],
        [2, 'yellow'],
      ],
    },
    dataAge(
      'Seconds since the exporter last completed a collection of this cluster; keeps growing while the exporter is stuck or down.',
      4,
    ),
    {
      kind: 'stat',
      title: 'Data consistency',
      description:
        "Result of the exporter's last HashKV comparison of the members at one revision (every --hashkv-interval, 5 min by default): a member whose keys silently diverged shows here and in the member table.",
      w: 4,
      h: 4,
      targets: [{ expr: `etcd_monitor_cluster_hash_consistent{${ONE_CLUSTER}}` }],
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
      targets: [{ expr: `etcd_monitor_cluster_probe_latency_above_max{${ONE_CLUSTER}}` }],
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
      targets: [{ expr: `etcd_monitor_cluster_leader_changes_above_max{${ONE_CLUSTER}}` }],
      mappings: [
        { value: 0, text: 'OK', color: 'green' },
        { value: 1, text: 'UNSTABLE', color: 'red' },
      ],
    },
    {
      kind: 'stat',
      title: 'DB size limit',
      description: 'Whether the database of any member is larger than --max-db-size-mb (8 GiB by default).',
      w: 4,
      h: 4,
      targets: [{ expr: `max(etcd_monitor_member_db_above_max_size{${ONE_CLUSTER}})` }],
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
      targets: [{ expr: `etcd_monitor_cluster_reachable{${ONE_CLUSTER}}` }],
      mappings: YES_NO,
    },
    {
      kind: 'stat',
      title: 'Quorum size',
      description: 'Voting members needed for quorum: floor(voting / 2) + 1; learners do not count.',
      w: 4,
      h: 4,
      thresholds: [[null, 'blue']],
      targets: [{ expr: `etcd_monitor_cluster_quorum_size{${ONE_CLUSTER}}` }],
    },
  ],
};
