import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/collect/snapshot.js';
import { deriveCluster, INITIAL_DERIVE_STATE } from '../../src/derive/derive-cluster.js';
import type { ClusterView } from '../../src/derive/view.js';
import { ALL_METRICS, THRESHOLD_METRICS, type Point } from '../../src/expose/metric-table.js';
import { capturedClusterSnapshot, DEFAULT_THRESHOLDS, failed, healthyCluster, ok } from '../etcd/fixtures.js';

const h = healthyCluster();
const AT = 1_795_441_262_015;

/**
 * Leader and follower answer everything (captures); the third member does not answer the exporter. Both
 * captures show an active raft stream to it, but one scrape cannot show raft traffic still arriving from
 * it, so it is "down" (health-state.test.ts covers "unreachable").
 */
function snapshot(alarms: 'answered' | 'failed' = 'answered'): ClusterSnapshot {
  const s = capturedClusterSnapshot('prod', AT);
  if (alarms === 'answered') return s;
  // Neither an alarm list nor a status that could vouch for the alarms: the statuses failed too.
  return { ...s, members: s.members.map((m) => ({ ...m, alarms: failed(AT), status: failed(AT) })) };
}

const derive = (s: ClusterSnapshot): ClusterView =>
  deriveCluster(INITIAL_DERIVE_STATE, s, DEFAULT_THRESHOLDS).view;
const pointsOf = (name: string, s: ClusterSnapshot): Point[] => {
  const def = ALL_METRICS.find((d) => d.name === name);
  if (!def) throw new Error(`no metric ${name}`);
  return def.points(derive(s), s);
};
const value = (points: Point[], labels: Record<string, string>) =>
  points.find(([l]) => Object.entries(labels).every(([k, v]) => l[k] === v))?.[1];

describe('metric table on a view derived from the captures', () => {
  const s = snapshot();
  const view = derive(s);

  it.each(ALL_METRICS.map((d) => [d.name, d] as const))(
    '%s: label sets match its declared labels',
    (_, def) => {
      for (const [labels, v] of def.points(view, s)) {
        expect(Object.keys(labels).sort()).toEqual([...def.labels].sort());
        expect(labels['cluster']).toBe('prod');
        expect(Number.isFinite(v)).toBe(true);
      }
    },
  );

  it.each([
    ['etcd_monitor_cluster_quorum_available', { cluster: 'prod' }, 1],
    ['etcd_monitor_cluster_failure_tolerance', { cluster: 'prod' }, 0],
    ['etcd_monitor_cluster_members_available', { cluster: 'prod' }, 2],
    ['etcd_monitor_cluster_members_healthy', { cluster: 'prod' }, 2],
    ['etcd_monitor_member_health_state', { member: 'fixtures-2', state: 'unreachable' }, 0],
    ['etcd_monitor_member_health_state', { member: 'fixtures-2', state: 'down' }, 1],
    ['etcd_monitor_member_health_state', { member: 'fixtures-1', state: 'healthy' }, 1],
    ['etcd_monitor_cluster_members_reachable', { cluster: 'prod' }, 2],
    ['etcd_monitor_cluster_expected_members', { cluster: 'prod' }, 3],
    ['etcd_monitor_cluster_members', { role: 'voting' }, 3],
    ['etcd_monitor_cluster_members', { role: 'learner' }, 0],
    ['etcd_monitor_cluster_has_leader', { cluster: 'prod' }, 1],
    ['etcd_monitor_cluster_leader_changes_total', { cluster: 'prod' }, 0],
    ['etcd_monitor_cluster_distinct_versions', { cluster: 'prod' }, 1],
    ['etcd_monitor_last_collection_timestamp_seconds', { cluster: 'prod' }, AT / 1000],
    ['etcd_monitor_member_up', { member: 'fixtures-2' }, 0],
    ['etcd_monitor_member_is_leader', { member: 'fixtures-1' }, 1],
    ['etcd_monitor_member_is_leader', { member: 'fixtures-0' }, 0],
    ['etcd_monitor_member_db_size_bytes', { member: 'fixtures-1' }, 20480],
    ['etcd_monitor_member_db_quota_bytes', { member: 'fixtures-1' }, 2 * 1024 ** 3],
    ['etcd_monitor_member_watch_streams', { member: 'fixtures-0' }, 1],
    ['etcd_monitor_collector_success', { member: 'fixtures-2', collector: 'status' }, 0],
    ['etcd_monitor_collector_success', { member: 'fixtures-1', collector: 'metrics' }, 1],
  ])('%s%j = %s', (name, labels, expected) => {
    expect(value(pointsOf(name, s), labels)).toBe(expected);
  });

  it('a member that is down exports no Status-derived series rather than zeros', () => {
    for (const name of [
      'etcd_monitor_member_raft_term',
      'etcd_monitor_member_db_size_bytes',
      'etcd_monitor_member_is_leader',
    ])
      expect(value(pointsOf(name, s), { member: 'fixtures-2' }), name).toBeUndefined();
  });

  it('every partition reason is always present', () => {
    expect(pointsOf('etcd_monitor_cluster_partition_suspected', s).map(([l]) => l['reason'])).toEqual([
      'leader_disagreement',
      'term_disagreement',
      'member_without_leader',
      'unreachable_but_peers_connected',
      'peer_stream_down',
    ]);
  });

  it('cluster_info carries the cluster ID in hex', () => {
    expect(pointsOf('etcd_monitor_cluster_info', s)).toEqual([
      [{ cluster: 'prod', cluster_id: h.leader.clusterId }, 1],
    ]);
  });
});

describe('etcd_monitor_member_alarm', () => {
  it('both alarm types for every member, down ones included, while the alarm list is known', () => {
    const points = pointsOf('etcd_monitor_member_alarm', snapshot());
    expect(points.map(([l, v]) => `${l['member']}/${l['alarm']}=${v}`).sort()).toEqual([
      'fixtures-0/CORRUPT=0',
      'fixtures-0/NOSPACE=0',
      'fixtures-1/CORRUPT=0',
      'fixtures-1/NOSPACE=0',
      'fixtures-2/CORRUPT=0',
      'fixtures-2/NOSPACE=0',
    ]);
  });

  it('absent when no member answered the alarm list or Status (unknown is not "no alarm")', () => {
    expect(pointsOf('etcd_monitor_member_alarm', snapshot('failed'))).toEqual([]);
  });

  it('1 for the member a captured NOSPACE alarm names', () => {
    // Transformation: the NOSPACE capture's alarm entry re-pointed at the follower.
    const s = snapshot();
    const alarm = { memberId: h.follower.memberId, alarm: 'NOSPACE' as const };
    const withAlarm = {
      ...s,
      members: s.members.map((m) => (m.status?.ok ? { ...m, alarms: ok([alarm], AT) } : m)),
    };
    const points = pointsOf('etcd_monitor_member_alarm', withAlarm);
    expect(value(points, { member: 'fixtures-0', alarm: 'NOSPACE' })).toBe(1);
    expect(value(points, { member: 'fixtures-0', alarm: 'CORRUPT' })).toBe(0);
    expect(value(points, { member: 'fixtures-1', alarm: 'NOSPACE' })).toBe(0);
  });
});

describe('etcd_monitor_threshold_* (what the alert rules compare against)', () => {
  const s = snapshot();
  const thresholdsOf = (view: ClusterView) =>
    Object.fromEntries(
      THRESHOLD_METRICS.map((def) => {
        const points = def.points(view, s);
        expect(points.map(([labels]) => labels)).toEqual([{ cluster: 'prod' }]);
        return [def.name, points[0]?.[1]];
      }),
    );

  it.each([
    [
      'the defaults',
      DEFAULT_THRESHOLDS,
      [0.1, 8 * 1024 ** 3, 2, 3],
      // The captured DB is 20480 bytes: far below 8 GiB.
      false,
    ],
    [
      "a cluster's own values",
      { maxLatencyMs: 250, maxDbSizeBytes: 1024 ** 2, minAvailableNodes: 4, maxLeaderChangesPerHour: 0 },
      [0.25, 1024 ** 2, 4, 0],
      false,
    ],
    [
      'a size limit below the captured DB',
      { ...DEFAULT_THRESHOLDS, maxDbSizeBytes: 20479 },
      [0.1, 20479, 2, 3],
      true,
    ],
  ])('%s: one series per cluster in base units, and the derived verdicts use them', (_, t, values, above) => {
    const view = deriveCluster(INITIAL_DERIVE_STATE, s, t).view;
    expect(thresholdsOf(view)).toEqual({
      etcd_monitor_threshold_max_latency_seconds: values[0],
      etcd_monitor_threshold_max_db_size_bytes: values[1],
      etcd_monitor_threshold_min_available_members: values[2],
      etcd_monitor_threshold_max_leader_changes_per_hour: values[3],
    });
    const aboveMax = ALL_METRICS.find((d) => d.name === 'etcd_monitor_member_db_above_max_size');
    expect(value(aboveMax?.points(view, s) ?? [], { member: 'fixtures-1' })).toBe(above ? 1 : 0);
    // Two healthy voters of three: below a minimum of 4, not below 2.
    expect(view.belowMinAvailable).toBe(t.minAvailableNodes > 2);
  });
});
