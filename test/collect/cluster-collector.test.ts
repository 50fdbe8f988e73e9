import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCollector } from '../../src/collect/cluster-collector.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { MemberHttpClient } from '../../src/etcd/http-client.js';
import { parsePromText, sumOf } from '../../src/etcd/parse-prom-text.js';
import { startCluster, type EtcdCluster } from '../support/etcd-cluster.js';

// The alarm list is cluster-wide and every AlarmList is a raft proposal in etcd, so a metrics round asks
// one member for it: the leader when known, else members in turn.

describe('ClusterCollector metrics rounds against a real 3-member cluster', () => {
  let cluster: EtcdCluster;
  let collector: ClusterCollector;
  let http: MemberHttpClient;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    const config = resolveConfig({
      flags: { endpoints: cluster.endpoints.join(','), 'request-timeout': '2s', 'dial-timeout': '2s' },
      env: {},
    });
    collector = new ClusterCollector(config.clusters[0] as (typeof config.clusters)[number], config);
    http = new MemberHttpClient(undefined, { dialTimeoutMs: 2000, requestTimeoutMs: 2000 });
  }, 60_000);

  afterAll(async () => {
    await collector?.close();
    await http?.close();
    await cluster?.destroy();
  });

  const alarmTimes = () => collector.snapshot().members.map((m) => m.alarms?.at);
  const committed = async () => {
    const leader = cluster.endpoints[await cluster.leaderIndex()] as string;
    return (
      sumOf(parsePromText(await http.fetchMetricsText(leader)), 'etcd_server_proposals_committed_total') ?? 0
    );
  };

  it('asks exactly one member for the alarm list per round, the leader once it is known', async () => {
    await collector.collectMetricsRound();
    expect(alarmTimes().filter((at) => at !== undefined)).toHaveLength(1);
    for (let round = 0; round < 3; round++) {
      const before = alarmTimes();
      await collector.collectMetricsRound();
      const after = alarmTimes();
      const asked = after.flatMap((at, i) => (at !== before[i] ? [i] : []));
      expect(asked).toHaveLength(1);
      expect(asked[0]).toBe(await cluster.leaderIndex());
    }
    const snapshot = collector.snapshot();
    for (const m of snapshot.members) {
      expect(m.status?.ok, m.endpoint).toBe(true);
      expect(m.members?.ok, m.endpoint).toBe(true);
    }
  });

  it('adds one raft proposal per round for the alarm list, not one per member', async () => {
    const before = await committed();
    for (let round = 0; round < 5; round++) await collector.collectMetricsRound();
    const added = (await committed()) - before;
    // Five rounds: five AlarmList proposals (fifteen if every member were asked); nothing else writes.
    expect(added).toBeGreaterThanOrEqual(5);
    expect(added).toBeLessThan(10);
  });

  it('when the leader is gone, another member answers the alarm list', async () => {
    const leader = await cluster.leaderIndex();
    await cluster.kill(leader);
    try {
      // The first round after the kill may still pick the old leader (its last status said so); it
      // fails, and from then on members take turns until one answers.
      let fresh = false;
      for (let round = 0; round < 4 && !fresh; round++) {
        const before = alarmTimes();
        await collector.collectMetricsRound();
        fresh = collector
          .snapshot()
          .members.some((m, i) => i !== leader && m.alarms?.ok === true && m.alarms.at !== before[i]);
      }
      expect(fresh).toBe(true);
    } finally {
      await cluster.restart(leader);
    }
  });
});
