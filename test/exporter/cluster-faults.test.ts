import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';

interface ClusterStatus {
  healthy: boolean;
  leader_id: string | null;
  member_count: number;
  members_healthy: number;
  quorum_size: number;
  quorum_available: boolean;
  failure_tolerance: number;
  has_leader: boolean;
  alarms: { member: string; type: string }[];
  last_check: string;
}

interface MemberEntry {
  id: string;
  name: string;
  endpoint: string;
  up: boolean;
  healthy: boolean;
  is_leader: boolean;
}

describe('exporter against a real 3-member cluster', () => {
  let cluster: EtcdCluster;
  let exporter: ExporterProcess;
  const status = async () => (await exporter.json<ClusterStatus>('/api/v1/cluster/status')).body;
  const members = async () =>
    (await exporter.json<{ members: MemberEntry[] }>('/api/v1/cluster/members')).body.members;
  const until = <T>(what: string, fn: () => Promise<T | false | undefined>, timeoutMs = 20_000) =>
    waitFor(fn, { what, timeoutMs, intervalMs: 200 });

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    exporter = await startExporter({
      args: ['--endpoints', cluster.endpoints.join(','), '--cluster-name', 'main', ...FAST_INTERVALS],
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await cluster?.destroy();
  });

  it('reports a healthy cluster: 3 members, 1 leader, quorum available, tolerance 1', async () => {
    const s = await until('all 3 members healthy', async () => {
      const current = await status();
      return current.members_healthy === 3 && current;
    });
    expect(s).toMatchObject({
      healthy: true,
      member_count: 3,
      quorum_size: 2,
      quorum_available: true,
      failure_tolerance: 1,
      has_leader: true,
    });
    const list = await members();
    expect(list.filter((m) => m.is_leader)).toHaveLength(1);
    expect(list.find((m) => m.is_leader)?.id).toBe(s.leader_id);
    expect(await exporter.sample('etcd_monitor_cluster_quorum_available', { cluster: 'main' })).toBe(1);
    expect(await exporter.sample('etcd_monitor_cluster_failure_tolerance', { cluster: 'main' })).toBe(1);
  });

  it('compares HashKV across members at a common revision and finds them consistent', async () => {
    await waitFor(
      async () => (await exporter.sample('etcd_monitor_cluster_hash_consistent', { cluster: 'main' })) === 1,
      {
        what: 'a HashKV comparison',
        timeoutMs: 15_000,
      },
    );
    expect(
      await exporter.sample('etcd_monitor_cluster_hash_check_revision', { cluster: 'main' }),
    ).toBeGreaterThan(0);
    for (const member of cluster.members) {
      expect(await exporter.sample('etcd_monitor_member_hash_mismatch', { member: member.name })).toBe(0);
    }
  });

  it('serves /metrics that promtool check metrics accepts, with re-exposed member series', async () => {
    const text = await exporter.metricsText();
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (result.error) throw new Error(`promtool could not run: ${result.error.message}`);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(text).toMatch(
      /^etcd_server_has_leader\{cluster="main",member="[^"]+",instance="127\.0\.0\.1:\d+"\} 1$/m,
    );
    expect(text).toMatch(
      /^etcd_monitor_collector_success\{cluster="main",member="[^"]+",collector="metrics"\} 1$/m,
    );
  });

  it('one follower killed: 2 healthy, quorum available, tolerance 0; back to 3 after restart', async () => {
    const leader = await cluster.leaderIndex();
    const follower = leader === 0 ? 1 : 0;
    await cluster.kill(follower);
    const s = await until('2 healthy members', async () => {
      const current = await status();
      return current.members_healthy === 2 && current;
    });
    expect(s).toMatchObject({ quorum_available: true, failure_tolerance: 0, has_leader: true });
    const down = (await members()).find((m) => m.endpoint === cluster.members[follower]?.clientUrl);
    expect(down).toMatchObject({ up: false, healthy: false });
    await until(
      "the killed member's status collector reported as failing",
      async () =>
        (await exporter.sample('etcd_monitor_collector_success', {
          member: down?.name ?? '',
          collector: 'status',
        })) === 0,
      10_000,
    );
    expect(await exporter.sample('etcd_monitor_member_up', { member: down?.name ?? '' })).toBe(0);
    // What the shipped EtcdMembersDown reads besides member_up (its `unless` on the unreachable state):
    // checked here on every etcd version, so the alert path (test/alerts/e2e-alerting.test.ts) need not
    // rerun on the etcd leg of scripts/test-legs.sh.
    await until(
      'the killed member in health state down',
      async () =>
        (await exporter.sample('etcd_monitor_member_health_state', {
          member: down?.name ?? '',
          state: 'down',
        })) === 1,
      10_000,
    );
    expect(await exporter.sample('etcd_monitor_cluster_reachable', { cluster: 'main' })).toBe(1);
    await cluster.restart(follower);
    await until(
      '3 healthy members after restart',
      async () => (await status()).members_healthy === 3,
      30_000,
    );
  });

  it('two members killed: quorum lost, reported within one health interval of detection', async () => {
    const leader = await cluster.leaderIndex();
    const victims = [0, 1, 2].filter((i) => i !== leader);
    const killedAt = Date.now();
    await Promise.all(victims.map((i) => cluster.kill(i)));
    await until('quorum lost', async () => (await status()).quorum_available === false, 15_000);
    const elapsedMs = Date.now() - killedAt;
    // One health interval (1 s) plus one request timeout (1 s) for the survivor's /health, plus slack for a busy machine.
    expect(elapsedMs).toBeLessThan(8000);
    expect(await exporter.sample('etcd_monitor_cluster_quorum_available', { cluster: 'main' })).toBe(0);
    expect((await status()).failure_tolerance).toBe(0);
    // EtcdQuorumLost needs the survivor reachable; EtcdMembersDown (inhibited by it) needs both victims
    // down, not unreachable.
    expect(await exporter.sample('etcd_monitor_cluster_reachable', { cluster: 'main' })).toBe(1);
    await until(
      'both killed members up 0 and in health state down',
      async () => {
        for (const member of victims.map((i) => cluster.members[i]?.name ?? '')) {
          if ((await exporter.sample('etcd_monitor_member_up', { member })) !== 0) return false;
          if ((await exporter.sample('etcd_monitor_member_health_state', { member, state: 'down' })) !== 1)
            return false;
        }
        return true;
      },
      10_000,
    );
    expect(await exporter.sample('etcd_monitor_cluster_reachable', { cluster: 'main' })).toBe(1);
    await Promise.all(victims.map((i) => cluster.restart(i)));
    await until('quorum back', async () => (await status()).members_healthy === 3, 40_000);
  });

  it('leader paused: a new leader is reported, the paused member is down, /metrics never stalls; healthy after resume', async () => {
    const before = await status();
    const leader = await cluster.leaderIndex();
    const pausedUrl = cluster.members[leader]?.clientUrl;
    cluster.pause(leader);
    try {
      const slowest = { ms: 0 };
      const s = await until(
        'a new leader while the old one is paused',
        async () => {
          const start = Date.now();
          await exporter.metricsText();
          slowest.ms = Math.max(slowest.ms, Date.now() - start);
          const current = await status();
          return current.has_leader && current.leader_id !== before.leader_id && current;
        },
        30_000,
      );
      expect(s.quorum_available).toBe(true);
      const paused = (await members()).find((m) => m.endpoint === pausedUrl);
      expect(paused?.up).toBe(false);
      // The exporter answers from its last snapshot; a hung member must never make a scrape wait for it.
      expect(slowest.ms).toBeLessThan(3000);
    } finally {
      cluster.resume(leader);
    }
    await until('all 3 healthy after SIGCONT', async () => (await status()).members_healthy === 3, 30_000);
    expect((await status()).healthy).toBe(true);
  });
});
