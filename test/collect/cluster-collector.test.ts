import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterCollector } from '../../src/collect/cluster-collector.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { MemberHttpClient } from '../../src/etcd/http-client.js';
import { parsePromText, sumOf } from '../../src/protocol/prom-text/index.js';
import { etcdVersion, startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';

// The alarm list is cluster-wide and every AlarmList is a raft proposal in etcd, so only the health round
// asks for it, of one member: the leader when known, else members in turn. Metrics rounds read the
// alarms each member's Status lists in its errors, which costs etcd no write, and ask one member for the
// member list (the health round asks all).

describe('ClusterCollector rounds against a real 3-member cluster', () => {
  let cluster: EtcdCluster;
  let collector: ClusterCollector;
  let http: MemberHttpClient;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    const config = resolveConfig({
      // No probe: its writes would be counted with the AlarmList proposals below.
      flags: {
        endpoints: cluster.endpoints.join(','),
        'request-timeout': '2s',
        'dial-timeout': '2s',
        probe: false,
      },
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

  const listTimes = () => collector.snapshot().members.map((m) => m.members?.at);

  it('a metrics round asks no member for the alarm list and one for the member list, the leader once known', async () => {
    await collector.collectMetricsRound();
    expect(alarmTimes()).toEqual([undefined, undefined, undefined]);
    expect(listTimes().filter((at) => at !== undefined)).toHaveLength(1);
    for (let round = 0; round < 3; round++) {
      const before = listTimes();
      await collector.collectMetricsRound();
      const asked = listTimes().flatMap((at, i) => (at !== before[i] ? [i] : []));
      expect(asked).toEqual([await cluster.leaderIndex()]);
    }
    for (const m of collector.snapshot().members) {
      expect(m.metrics?.ok, m.endpoint).toBe(true);
      expect(m.status?.ok, m.endpoint).toBe(true);
      expect(m.status?.ok && m.status.value.errors, m.endpoint).toEqual([]);
    }
  });

  it('a health round asks every member for the member list and exactly one, the leader once known, for the alarm list', async () => {
    await collector.collectHealthRound();
    expect(alarmTimes().filter((at) => at !== undefined)).toHaveLength(1);
    for (let round = 0; round < 3; round++) {
      const before = alarmTimes();
      const listsBefore = listTimes();
      await collector.collectHealthRound();
      const asked = alarmTimes().flatMap((at, i) => (at !== before[i] ? [i] : []));
      expect(asked).toEqual([await cluster.leaderIndex()]);
      listTimes().forEach((at, i) => expect(at, `member ${i}`).not.toBe(listsBefore[i]));
    }
    for (const m of collector.snapshot().members) expect(m.members?.ok, m.endpoint).toBe(true);
  });

  it('metrics rounds add no raft proposal; a health round adds one for the alarm list, not one per member', async () => {
    const start = await committed();
    for (let round = 0; round < 5; round++) await collector.collectMetricsRound();
    const afterMetrics = await committed();
    for (let round = 0; round < 5; round++) await collector.collectHealthRound();
    const afterHealth = await committed();
    expect(afterMetrics - start).toBe(0);
    // Per health round: one AlarmList, and on etcd 3.4 each member's /health too — a quorum read 3.4
    // sends through raft (a v2 QGET, etcdhttp/metrics.go); 3.5's /health is a linearizable range (a
    // ReadIndex, no proposal). Five rounds: 5 × (3 + 1) = 20 on 3.4, 5 × 1 = 5 on 3.5; asking every
    // member the alarm list would add 10 more. Nothing else writes.
    const perRound = (etcdVersion().startsWith('3.4.') ? 3 : 0) + 1;
    expect(afterHealth - afterMetrics).toBeGreaterThanOrEqual(5 * perRound);
    expect(afterHealth - afterMetrics).toBeLessThan(5 * perRound + 5);
  });

  it('when the leader is gone, another member answers the alarm list and the member list', async () => {
    const leader = await cluster.leaderIndex();
    await cluster.kill(leader);
    try {
      // The first round after the kill may still pick the old leader (its last status said so); it
      // fails, and from then on members take turns until one answers.
      const answeredByAnother = async (
        source: 'alarms' | 'members',
        round: () => Promise<void>,
      ): Promise<boolean> => {
        for (let i = 0; i < 4; i++) {
          const before = collector.snapshot().members.map((m) => m[source]?.at);
          await round();
          const fresh = collector
            .snapshot()
            .members.some((m, k) => k !== leader && m[source]?.ok === true && m[source]?.at !== before[k]);
          if (fresh) return true;
        }
        return false;
      };
      expect(await answeredByAnother('alarms', () => collector.collectHealthRound())).toBe(true);
      expect(await answeredByAnother('members', () => collector.collectMetricsRound())).toBe(true);
    } finally {
      await cluster.restart(leader);
    }
  });
});
