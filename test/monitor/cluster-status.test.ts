// One builder, two shapes: the library's clusterStatus() and the body of GET /api/v1/cluster/status.
// The expected texts are the answers both gave before they shared a builder (recorded from the
// captures' views), so a changed key, order or value in either shape fails here.
import { describe, expect, it } from 'vitest';
import { clusterStatus, clusterStatusJson } from '../../src/monitor/cluster-status.js';
import { alteredView, capturedView } from './status-views.js';

const CASES = [
  {
    name: 'the captures (third member down, one partition reason, no leader change yet)',
    view: capturedView,
    rest: '{"cluster":"prod","healthy":true,"leader_id":"e1adf9c8a32dbc58","member_count":3,"members_healthy":2,"members_available":2,"quorum_size":2,"quorum_available":true,"failure_tolerance":0,"has_leader":true,"split_brain":false,"stale_leader":false,"leader_changes":0,"leader_changes_last_hour":0,"last_leader_change":null,"network_partition":true,"partition_reasons":["unreachable_but_peers_connected"],"alarms":[],"last_check":"2026-11-23T13:41:17.015Z"}',
    library: {
      cluster: 'prod',
      healthy: true,
      leaderId: 'e1adf9c8a32dbc58',
      memberCount: 3,
      quorumSize: 2,
      hasLeader: true,
      leaderChanges: 0,
      lastLeaderChange: null,
      networkPartition: true,
      alarms: [],
      lastCheck: new Date('2026-11-23T13:41:17.015Z'),
    },
  },
  {
    name: 'no leader id, a leader change, an alarm, no partition',
    view: alteredView,
    rest: '{"cluster":"prod","healthy":true,"leader_id":null,"member_count":3,"members_healthy":2,"members_available":2,"quorum_size":2,"quorum_available":true,"failure_tolerance":0,"has_leader":true,"split_brain":false,"stale_leader":false,"leader_changes":2,"leader_changes_last_hour":1,"last_leader_change":"2026-11-23T13:40:02.015Z","network_partition":false,"partition_reasons":[],"alarms":[{"member":"fixtures-2","type":"NOSPACE"}],"last_check":"2026-11-23T13:41:17.015Z"}',
    library: {
      cluster: 'prod',
      healthy: true,
      leaderId: null,
      memberCount: 3,
      quorumSize: 2,
      hasLeader: true,
      leaderChanges: 2,
      lastLeaderChange: new Date('2026-11-23T13:40:02.015Z'),
      networkPartition: false,
      alarms: [{ member: 'fixtures-2', type: 'NOSPACE' }],
      lastCheck: new Date('2026-11-23T13:41:17.015Z'),
    },
  },
];

describe('clusterStatus(view): one builder for the library and REST shapes', () => {
  for (const c of CASES) {
    it(`REST body, byte for byte: ${c.name}`, () => {
      expect(JSON.stringify(clusterStatusJson(c.view()))).toBe(c.rest);
    });

    it(`library object, keys in order, times as Date: ${c.name}`, () => {
      const status = clusterStatus(c.view());
      expect(status).toStrictEqual(c.library);
      expect(Object.keys(status)).toEqual(Object.keys(c.library));
      expect(status.lastCheck).toBeInstanceOf(Date);
    });
  }

  it('the library shape is the REST shape restricted to its keys, camelCase for snake_case', () => {
    const view = alteredView();
    const rest = JSON.parse(JSON.stringify(clusterStatusJson(view))) as Record<string, unknown>;
    const library = JSON.parse(JSON.stringify(clusterStatus(view))) as Record<string, unknown>;
    const snake = (k: string) => k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
    expect(Object.fromEntries(Object.entries(library).map(([k, v]) => [snake(k), v]))).toEqual(
      Object.fromEntries(Object.keys(library).map((k) => [snake(k), rest[snake(k)]])),
    );
  });
});
