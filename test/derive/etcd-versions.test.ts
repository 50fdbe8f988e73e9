// The same derivations on the captures of every etcd minor version in test/fixtures (3.4 and 3.5): one
// round where leader and follower answer with their real captures and the third member does not. What
// the exporter derives from them must not depend on which version answered.
import { describe, expect, it } from 'vitest';
import { deriveCluster, INITIAL_DERIVE_STATE } from '../../src/derive/derive-cluster.js';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import {
  capturedClusterSnapshot,
  DEFAULT_THRESHOLDS,
  ETCD_FIXTURE_VERSIONS,
  healthyCluster,
} from '../etcd/fixtures.js';

const AT = 1_795_441_262_015;

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const h = healthyCluster(version);
  const first = deriveCluster(
    INITIAL_DERIVE_STATE,
    capturedClusterSnapshot('prod', AT, version),
    DEFAULT_THRESHOLDS,
  );
  const snapshot = capturedClusterSnapshot('prod', AT + 15_000, version);
  const { view } = deriveCluster(first.state, snapshot, DEFAULT_THRESHOLDS);
  const byId = (id: string) => view.members.find((m) => m.memberId === id);

  it('the captures are of this version', () => {
    expect(h.leader.version.startsWith(`${version}.`)).toBe(true);
    expect(h.follower.version).toBe(h.leader.version);
  });

  it('cluster facts: three voters, quorum 2 kept by two, no tolerance left, one leader, no split', () => {
    expect(view.votingMembers).toBe(3);
    expect(view.learners).toBe(0);
    expect(view.quorumSize).toBe(2);
    expect(view.membersAvailable).toBe(2);
    expect(view.quorumAvailable).toBe(true);
    expect(view.failureTolerance).toBe(0);
    expect(view.hasLeader).toBe(true);
    expect(view.leaderId).toBe(h.leader.memberId);
    expect(view.splitBrain).toBe(false);
    expect(view.staleLeader).toBe(false);
    expect(view.clusterIds).toEqual([h.leader.clusterId]);
    expect(view.alarms).toEqual([]);
  });

  it('member facts from Status and /metrics', () => {
    const leader = byId(h.leader.memberId);
    const follower = byId(h.follower.memberId);
    const third = byId(h.third.id);
    expect(leader?.isLeader).toBe(true);
    expect(leader?.healthState).toBe('healthy');
    expect(follower?.healthState).toBe('healthy');
    expect(third?.healthState).toBe('down');
    expect(third?.up).toBe(false);
    expect(leader?.version).toBe(h.leader.version);
    expect(leader?.dbSizeBytes).toBe(h.leader.dbSizeBytes);
    expect(leader?.raftTerm).toBe(h.leader.raftTerm);
    // From the member's own /metrics: etcd_server_quota_backend_bytes (2 GiB by default in both).
    expect(leader?.quotaBytes).toBe(2 * 1024 ** 3);
    expect(leader?.quotaUsageRatio).toBeGreaterThan(0);
  });

  // The rows of test/expose/metric-table.test.ts (written against the 3.4 captures, where fixtures-1
  // leads) by role, so they hold for whichever member leads in each version's capture. The follower's
  // open watch differs: the 3.4 capture's watch was on the follower, the 3.5 capture's on the third member.
  const WATCHING_FOLLOWER: Record<typeof version, number> = { '3.4': 1, '3.5': 0 };
  const pointValue = (name: string, labels: Record<string, string>) => {
    const def = ALL_METRICS.find((d) => d.name === name);
    if (!def) throw new Error(`no metric ${name}`);
    return def
      .points(view, snapshot)
      .find(([l]) => Object.entries(labels).every(([k, v]) => l[k] === v))?.[1];
  };
  it.each<[string, Record<string, string>, number]>([
    ['etcd_monitor_cluster_quorum_available', { cluster: 'prod' }, 1],
    ['etcd_monitor_cluster_failure_tolerance', { cluster: 'prod' }, 0],
    ['etcd_monitor_cluster_members_available', { cluster: 'prod' }, 2],
    ['etcd_monitor_cluster_members_healthy', { cluster: 'prod' }, 2],
    ['etcd_monitor_member_health_state', { member: h.names.third, state: 'unreachable' }, 0],
    ['etcd_monitor_member_health_state', { member: h.names.third, state: 'down' }, 1],
    ['etcd_monitor_member_health_state', { member: h.names.leader, state: 'healthy' }, 1],
    ['etcd_monitor_member_health_state', { member: h.names.follower, state: 'healthy' }, 1],
    ['etcd_monitor_cluster_members_reachable', { cluster: 'prod' }, 2],
    ['etcd_monitor_cluster_expected_members', { cluster: 'prod' }, 3],
    ['etcd_monitor_cluster_members', { role: 'voting' }, 3],
    ['etcd_monitor_cluster_members', { role: 'learner' }, 0],
    ['etcd_monitor_cluster_has_leader', { cluster: 'prod' }, 1],
    ['etcd_monitor_cluster_leader_changes_total', { cluster: 'prod' }, 0],
    ['etcd_monitor_cluster_distinct_versions', { cluster: 'prod' }, 1],
    ['etcd_monitor_member_up', { member: h.names.third }, 0],
    ['etcd_monitor_member_is_leader', { member: h.names.leader }, 1],
    ['etcd_monitor_member_is_leader', { member: h.names.follower }, 0],
    // dbSize "20480" in both versions' status-leader.json.
    ['etcd_monitor_member_db_size_bytes', { member: h.names.leader }, 20480],
    ['etcd_monitor_member_db_quota_bytes', { member: h.names.leader }, 2 * 1024 ** 3],
    ['etcd_monitor_member_watch_streams', { member: h.names.follower }, WATCHING_FOLLOWER[version]],
    ['etcd_monitor_collector_success', { member: h.names.third, collector: 'status' }, 0],
    ['etcd_monitor_collector_success', { member: h.names.leader, collector: 'metrics' }, 1],
  ])('metric table: %s%j = %s', (name, labels, expected) => {
    expect(pointValue(name, labels)).toBe(expected);
  });

  it('metric table: both alarm types for every member, all 0', () => {
    const def = ALL_METRICS.find((d) => d.name === 'etcd_monitor_member_alarm');
    const points = def?.points(view, snapshot) ?? [];
    expect(points.map(([l, v]) => `${l['member']}/${l['alarm']}=${v}`).sort()).toEqual(
      [h.names.leader, h.names.follower, h.names.third]
        .sort()
        .flatMap((m) => [`${m}/CORRUPT=0`, `${m}/NOSPACE=0`]),
    );
  });

  it('every metric of the table has its declared labels and finite values', () => {
    let points = 0;
    for (const def of ALL_METRICS) {
      for (const [labels, value] of def.points(view, snapshot)) {
        expect(Object.keys(labels).sort(), def.name).toEqual([...def.labels].sort());
        expect(Number.isFinite(value), def.name).toBe(true);
        points++;
      }
    }
    expect(points).toBeGreaterThan(100);
  });
});
