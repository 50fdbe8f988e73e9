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
