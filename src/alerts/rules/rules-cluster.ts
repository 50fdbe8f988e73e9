import { compareToThreshold, maxBy, num, window } from './promql.js';
import type { RuleSettings } from './settings.js';
import type { GroupDef } from './types.js';

const BY_CLUSTER = 'cluster';
const reachable = `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_reachable')} == 1`;
const MIN = 60_000;
const AVAILABLE_VOTERS = 'cluster:etcd_monitor_member_available_voting:count';
const memberState = (state: string) =>
  `${maxBy('cluster, member', `etcd_monitor_member_health_state{state="${state}"}`)} == 1`;

/** Quorum, leadership and membership of whole clusters, from the exporter's derived cluster gauges. */
export function clusterGroup(s: RuleSettings): GroupDef {
  return {
    name: 'etcd-monitor.cluster',
    rules: [
      {
        record: 'cluster:etcd_monitor_cluster_voting_members:max',
        expr: maxBy(BY_CLUSTER, 'etcd_monitor_cluster_members{role="voting"}'),
      },
      {
        // Voters that count toward quorum: /health true, or slow (/health over etcd's 1 s but raft advancing),
        // or unreachable from the exporter while peers stream raft to them — slow is not dead. Learners never
        // count; --min-available-nodes is about voters. The last `or` keeps a 0 when none is available.
        record: AVAILABLE_VOTERS,
        expr:
          `count by (cluster) ((${maxBy('cluster, member', 'etcd_monitor_member_healthy')} == 1` +
          ` or ${maxBy('cluster, member', 'etcd_monitor_member_health_state{state=~"slow|unreachable"}')} == 1)` +
          ` unless on (cluster, member) ${maxBy('cluster, member', 'etcd_monitor_member_is_learner')} == 1)` +
          ` or on (cluster) 0 * ${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_reachable')}`,
      },
      {
        alert: 'EtcdQuorumLost',
        // Only when some member answers: if none does, EtcdClusterUnreachable says so without guessing.
        expr: `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_quorum_available')} == 0 and on (cluster) ${reachable}`,
        forMs: MIN,
        severity: 'critical',
        summary: 'etcd cluster has lost quorum.',
        description:
          'Fewer than a majority of the voting members of etcd cluster {{ $labels.cluster }} are available (healthy, slow but working, or alive by their peers); the cluster accepts no writes and no linearizable reads.',
      },
      {
        alert: 'EtcdQuorumAtRisk',
        // Tolerance 0 with quorum means healthy voters == quorum size, so "quorum size < voters" says some voter is
        // unhealthy: a 1- or 2-member cluster with every member healthy is small by design, not at risk.
        expr:
          `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_failure_tolerance')} == 0` +
          ` and on (cluster) ${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_quorum_available')} == 1` +
          ` and on (cluster) ${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_quorum_size')} < on (cluster) cluster:etcd_monitor_cluster_voting_members:max`,
        forMs: s.quorumAtRiskTimeout,
        severity: 'critical',
        summary: 'etcd cluster cannot tolerate another member failure.',
        description: `Etcd cluster {{ $labels.cluster }} still has quorum but its failure tolerance has been 0 for ${window(s.quorumAtRiskTimeout)}: one more unhealthy voting member loses quorum.`,
      },
      {
        alert: 'EtcdBelowMinAvailableMembers',
        expr: `${compareToThreshold(AVAILABLE_VOTERS, '<', 'etcd_monitor_threshold_min_available_members', s.minAvailableNodes)} and on (cluster) ${reachable}`,
        forMs: 5 * MIN,
        severity: 'critical',
        summary: 'etcd cluster has fewer healthy members than the configured minimum.',
        description: `Etcd cluster {{ $labels.cluster }} has fewer healthy voting members than its minimum (etcd_monitor_threshold_min_available_members from --min-available-nodes or clusters[].min_available_nodes; ${num(s.minAvailableNodes)} where the exporter exports none).`,
      },
      {
        alert: 'EtcdMembersDown',
        // A member its peers still stream raft to is alive: EtcdMemberUnreachableFromExporter says so instead.
        expr: `${maxBy('cluster, member', 'etcd_monitor_member_up')} == 0 and on (cluster) ${reachable} unless on (cluster, member) ${memberState('unreachable')}`,
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'etcd member is down.',
        description:
          'Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has not answered the exporter for 10 minutes while other members do, and no peer holds a raft stream to it.',
      },
      {
        alert: 'EtcdMemberUnreachableFromExporter',
        expr: memberState('unreachable'),
        forMs: 10 * MIN,
        severity: 'warning',
        summary: 'The exporter cannot reach an etcd member that its peers see alive.',
        description:
          'Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has not answered the exporter for 10 minutes, but its peers keep an active raft stream to it: the path from the exporter (firewall, DNS, TLS, advertised client URL) is broken, not the member.',
      },
      {
        alert: 'EtcdMemberSlow',
        // Not quorum loss: /health gives its raft read 1 s in etcd 3.4, a slow but working cluster misses that.
        expr: memberState('slow'),
        forMs: 5 * MIN,
        severity: 'warning',
        summary: 'etcd member is slow: /health fails but raft still commits.',
        description:
          'Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has failed /health (a raft read that etcd 3.4 gives 1 s) for 5 minutes while it keeps its leader and term and its raft index advances: requests are slow, not failing.',
      },
      {
        alert: 'EtcdNoLeader',
        expr: `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_has_leader')} == 0 and on (cluster) ${reachable}`,
        forMs: MIN,
        severity: 'critical',
        summary: 'etcd cluster has no leader.',
        description:
          'No reachable member of etcd cluster {{ $labels.cluster }} knows a leader; writes and linearizable reads fail.',
      },
      {
        alert: 'EtcdSplitBrain',
        expr: `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_split_brain')} == 1`,
        forMs: MIN,
        severity: 'critical',
        summary: 'More than one etcd member claims leadership.',
        description:
          'Members of etcd cluster {{ $labels.cluster }} disagree about who leads: more than one member has claimed leadership for a minute.',
      },
      {
        alert: 'EtcdStaleLeader',
        expr: `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_stale_leader')} == 1`,
        forMs: 2 * MIN,
        severity: 'critical',
        summary: 'An etcd member follows a leader of an older term.',
        description:
          'A member of etcd cluster {{ $labels.cluster }} still claims leadership in an older raft term than its peers report; reads from it may be stale.',
      },
      {
        alert: 'EtcdClusterIdMismatch',
        // Counted per distinct cluster_id, so replicated exporters reporting the same ID do not double-count.
        expr: `count by (cluster) (count by (cluster, cluster_id) (etcd_monitor_cluster_info)) > 1`,
        forMs: 5 * MIN,
        severity: 'critical',
        summary: 'The endpoints of one etcd cluster answer with different cluster IDs.',
        description:
          'Members configured as etcd cluster {{ $labels.cluster }} report more than one cluster ID: the endpoints reach two separate clusters.',
      },
      {
        alert: 'EtcdDataInconsistent',
        // The exporter compares HashKV only at one revision with equal compact revisions, so a mismatch is real.
        expr: `${maxBy('cluster, member', 'etcd_monitor_member_hash_mismatch')} == 1`,
        forMs: 0,
        severity: 'critical',
        summary: 'An etcd member holds different data than the majority.',
        description:
          'The HashKV of member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} differs from the majority at the same revision: its data has silently diverged.',
      },
      {
        alert: 'EtcdPartitionSuspected',
        expr: `${maxBy('cluster, reason', 'etcd_monitor_cluster_partition_suspected')} == 1`,
        forMs: 3 * MIN,
        severity: 'warning',
        summary: 'etcd members see different cluster states; a network partition is suspected.',
        description:
          'Etcd cluster {{ $labels.cluster }} shows signs of a network partition ({{ $labels.reason }}) for 3 minutes.',
      },
      {
        alert: 'EtcdHighNumberOfLeaderChanges',
        expr: compareToThreshold(
          maxBy(BY_CLUSTER, 'etcd_monitor_cluster_leader_changes_last_hour'),
          '>',
          'etcd_monitor_threshold_max_leader_changes_per_hour',
          s.maxLeaderChanges,
        ),
        forMs: MIN,
        severity: 'warning',
        summary: 'etcd leader changed too often in the last hour.',
        description: `The exporter saw more leader changes in etcd cluster {{ $labels.cluster }} within the last hour than its limit (etcd_monitor_threshold_max_leader_changes_per_hour from --max-leader-changes or clusters[].max_leader_changes; ${num(s.maxLeaderChanges)} where the exporter exports none).`,
      },
      {
        alert: 'EtcdLeaderChurn',
        // etcd's own counter; a rolling restart of N members can move the leader up to N times, so the bound scales.
        expr:
          `${maxBy(BY_CLUSTER, 'increase(etcd_server_leader_changes_seen_total[15m])')}` +
          ` > on (cluster) clamp_min(cluster:etcd_monitor_cluster_voting_members:max, 3)`,
        forMs: 5 * MIN,
        severity: 'warning',
        summary: 'etcd members report frequent leader elections.',
        description:
          'Members of etcd cluster {{ $labels.cluster }} observed more leader changes in 15 minutes than the cluster has voting members (at least 3).',
      },
      {
        alert: 'EtcdMemberCountMismatch',
        expr:
          `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_expected_members')} > 0` +
          ` and on (cluster) ${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_expected_members')} != on (cluster) cluster:etcd_monitor_cluster_voting_members:max`,
        forMs: 15 * MIN,
        severity: 'warning',
        summary: 'etcd cluster has a different number of voting members than expected.',
        description:
          'The member list of etcd cluster {{ $labels.cluster }} has had a different number of voting members than --expected-members for 15 minutes.',
      },
      {
        alert: 'EtcdLearnerNotPromoted',
        expr: `${maxBy('cluster, member', 'etcd_monitor_member_is_learner')} == 1`,
        forMs: s.learnerPromotionTimeout,
        severity: 'warning',
        summary: 'etcd learner has not been promoted.',
        description: `Member {{ $labels.member }} of etcd cluster {{ $labels.cluster }} has been a non-voting learner for ${window(s.learnerPromotionTimeout)}.`,
      },
      {
        alert: 'EtcdVersionSkew',
        expr: `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_distinct_versions')} > 1`,
        forMs: s.versionSkewTimeout,
        severity: 'warning',
        summary: 'etcd members run different versions.',
        description: `Members of etcd cluster {{ $labels.cluster }} have run different etcd versions for ${window(s.versionSkewTimeout)}; an upgrade or rollback is unfinished.`,
      },
    ],
  };
}

/** The exporter's own availability: cluster unreachable, exporter target down or absent, stale data, dead-man's switch. */
export function monitorGroup(s: RuleSettings): GroupDef {
  const staleAfterSeconds = (4 * Math.max(s.metricsIntervalMs, s.healthCheckIntervalMs)) / 1000;
  return {
    name: 'etcd-monitor.self',
    rules: [
      {
        alert: 'EtcdClusterUnreachable',
        expr: `${maxBy(BY_CLUSTER, 'etcd_monitor_cluster_reachable')} == 0`,
        forMs: 2 * MIN,
        severity: 'critical',
        summary: 'No etcd member answers the exporter.',
        description:
          'The exporter has reached no member of etcd cluster {{ $labels.cluster }} for 2 minutes: the cluster is down or the exporter is cut off from it.',
      },
      {
        alert: 'EtcdMonitorTargetDown',
        // A target that served a cluster within the last day is now down: keeps the cluster label for routing.
        expr: `${maxBy('cluster, job, instance', 'max_over_time(etcd_monitor_cluster_info[1d])')} and on (job, instance) up == 0`,
        forMs: 5 * MIN,
        severity: 'critical',
        summary: 'Prometheus cannot scrape the etcd-monitor exporter.',
        description:
          'Prometheus has failed to scrape the exporter {{ $labels.instance }} (job {{ $labels.job }}) that monitors etcd cluster {{ $labels.cluster }} for 5 minutes; no alert of that cluster can fire.',
      },
      {
        alert: 'EtcdMonitorAbsent',
        expr: 'absent(etcd_monitor_build_info)',
        forMs: 5 * MIN,
        severity: 'critical',
        summary: 'No etcd-monitor exporter is scraped by Prometheus.',
        description:
          'Prometheus has had no etcd_monitor_build_info series for 5 minutes: no exporter is scraped, so no etcd alert can fire (cluster label "all" = every cluster).',
        labels: { cluster: 'all' },
      },
      {
        alert: 'EtcdMonitorCollectionStale',
        expr: `time() - ${maxBy(BY_CLUSTER, 'etcd_monitor_last_collection_timestamp_seconds')} > ${num(staleAfterSeconds)}`,
        forMs: 5 * MIN,
        severity: 'warning',
        summary: 'The exporter has stopped collecting from an etcd cluster.',
        description: `The exporter's last completed collection of etcd cluster {{ $labels.cluster }} is more than ${num(staleAfterSeconds)} s old (4 collection intervals); its values are stale.`,
      },
      {
        alert: 'EtcdMonitorWatchdog',
        expr: 'vector(1)',
        forMs: 0,
        severity: 'info',
        summary: 'Always firing: proves the etcd alerting pipeline works.',
        description:
          'This alert always fires. Route it to a dead-man\'s switch; its absence means Prometheus, the etcd-monitor rules or Alertmanager are broken (cluster label "all" = every cluster).',
        labels: { cluster: 'all' },
      },
    ],
  };
}
