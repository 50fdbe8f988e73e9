import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, findSample, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { waitFor } from '../../harness/processes.js';

// A member whose advertised client URL the exporter cannot reach (in real life: an address on a network
// the exporter is not on) while its peers keep their raft streams to it. The member list names it, so it
// is watched; that it does not answer is reported as "unreachable from the exporter", with a reason,
// not as down and never as quorum loss.

let etcd: EtcdCluster;
let exporter: ExporterProcess;
let deadUrl: string;
const CLUSTER = 'split-view';

beforeAll(async () => {
  // Nothing listens on this loopback port: connections are refused at once.
  deadUrl = `http://127.0.0.1:${await freePort()}`;
  etcd = await startCluster({
    size: 3,
    advertiseClientUrl: (index, listen) => (index === 2 ? deadUrl : listen),
  });
  exporter = await startExporter({
    args: ['--endpoints', etcd.endpoints[0] as string, '--cluster-name', CLUSTER, ...FAST_INTERVALS],
  });
}, 120_000);

afterAll(async () => {
  await exporter?.stop();
  await etcd?.destroy();
}, 60_000);

describe('a member the exporter cannot reach while its peers see it alive', () => {
  it('is watched at its advertised URL, reported unreachable with a reason, and quorum stays available', async () => {
    const hidden = etcd.members[2]?.name as string;
    const text = await waitFor(
      async () => {
        const t = await exporter.metricsText();
        return findSample(t, 'etcd_monitor_member_health_state', {
          cluster: CLUSTER,
          member: hidden,
          state: 'unreachable',
        }) === 1
          ? t
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `${hidden} to be reported unreachable` },
    );
    expect(findSample(text, 'etcd_monitor_member_up', { cluster: CLUSTER, member: hidden })).toBe(0);
    expect(
      findSample(text, 'etcd_monitor_member_health_state', {
        cluster: CLUSTER,
        member: hidden,
        state: 'down',
      }),
    ).toBe(0);
    expect(findSample(text, 'etcd_monitor_cluster_quorum_available', { cluster: CLUSTER })).toBe(1);
    expect(findSample(text, 'etcd_monitor_cluster_below_min_available', { cluster: CLUSTER })).toBe(0);
    // Alive members count toward tolerance: 3 available voters, quorum 2.
    expect(findSample(text, 'etcd_monitor_cluster_failure_tolerance', { cluster: CLUSTER })).toBe(1);

    const { body } = await exporter.json<{
      members: { name: string; endpoint: string; health_state: string; health_reason: string }[];
    }>(`/api/v1/cluster/members?cluster=${CLUSTER}`);
    const member = body.members.find((m) => m.name === hidden);
    expect(member?.endpoint).toBe(deadUrl);
    expect(member?.health_state).toBe('unreachable');
    expect(member?.health_reason).toMatch(/raft stream/);
  });
});
