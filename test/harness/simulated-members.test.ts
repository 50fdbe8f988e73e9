// Simulated etcd members (harness/simulated-members.ts) checked against real ones: one exporter watches a
// real 3-member cluster and a simulated one of the same etcd version (the captures of the etcd on PATH:
// 3.4 in the main run, 3.5 in the etcd-3.5 leg), and what it exposes for each must be the same series.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import yaml from 'js-yaml';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdVersion, startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { spawnSimulatedMembers, type SimulatedMembers } from '../../harness/simulated-members.js';
import { MemberHttpClient } from '../../src/etcd/http-client.js';
import { MemberClient } from '../../src/etcd/member-client.js';
import { parsePromText } from '../../src/protocol/prom-text/index.js';
import type { ParsedMetrics, Sample } from '../../src/protocol/prom-text/types.js';
import { checkHistograms, counterSamples, seriesProfile } from './simulated-members-compare.js';

const VERSION = etcdVersion().startsWith('3.4.') ? '3.4' : etcdVersion().startsWith('3.5.') ? '3.5' : '';
const TIMEOUTS = { dialTimeoutMs: 2000, requestTimeoutMs: 2000 };

/**
 * Series the simulated members have and a real cluster watched only by the exporter has not, because
 * the capture's traffic made them (test/fixtures/etcd-<v>/README.md: a delete, and a watch still open):
 * each is named here so any other difference fails.
 */
const CAPTURE_HISTORY = [
  (s: Sample) => s.labels['grpc_method'] === 'DeleteRange' || s.labels['op'] === 'DeleteRange',
  (s: Sample) => s.name === 'etcd_server_client_requests_total' && s.labels['type'] === 'stream',
];
/**
 * Present only while etcd's peer prober (every 4 s) observed a round trip between two of the exporter's
 * scrapes (kept a while after): timing decides, for either cluster.
 */
const TIMING = new Set(['etcd_monitor_member_peer_round_trip_p99_seconds']);
/**
 * Series whose number differs with history, not with what a member is, so they must be there for both
 * clusters in any number:
 * - what the exporter asks one member a round (src/collect/sources.ts: the alarm list, from the leader
 *   once a status named it, else members in turn): how many members it asked yet depends on timing and
 *   on where the leader is (the simulated leader is always the first endpoint);
 * - a follower's bytes received from the other follower: only raft messages count under a peer's ID
 *   (etcd's link heartbeats count under From="0", rafthttp/stream.go), and followers send each other
 *   one only in an election (a vote request), so whether that series exists depends on how the first
 *   election went; both captured followers have none.
 */
const historyDependent = (s: Sample): boolean =>
  s.labels['grpc_method'] === 'Alarm' ||
  s.labels['collector'] === 'alarms' ||
  s.name === 'etcd_network_peer_received_bytes_total';

describe(`simulated members with etcd ${VERSION} captures`, () => {
  let real: EtcdCluster;
  let sim: SimulatedMembers;
  let exporter: ExporterProcess;
  let dir: string;
  let exposed: ParsedMetrics;

  beforeAll(async () => {
    expect(VERSION, `no captures for etcd ${etcdVersion()}`).not.toBe('');
    [real, sim] = await Promise.all([
      startCluster({ size: 3, name: 'real' }),
      spawnSimulatedMembers({ clusters: 1, etcdVersion: VERSION as '3.4' | '3.5' }),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-sim-'));
    const file = join(dir, 'config.yaml');
    const clusters = [
      { name: 'real', endpoints: real.endpoints },
      { name: 'sim', endpoints: sim.clusters[0]!.endpoints },
    ];
    writeFileSync(file, yaml.dump({ health_check_interval: '1s', metrics_interval: '1s', clusters }));
    exporter = await startExporter({ args: ['--config', file] });
    // Steady state for both clusters: rates and p99s need two metrics rounds, the hash check one HashKV
    // round, and etcd's peer round-trip histogram its first probe (every 4 s: a fresh cluster has none).
    exposed = await waitFor(
      async () => {
        const parsed = parsePromText(await exporter.metricsText());
        const count = (family: string, cluster: string, name = family) =>
          parsed.get(family)?.samples.filter((s) => s.labels['cluster'] === cluster && s.name === name)
            .length ?? 0;
        const ready = ['real', 'sim'].every(
          (cluster) =>
            count('etcd_monitor_member_wal_fsync_p99_seconds', cluster) === 3 &&
            count('etcd_monitor_cluster_hash_consistent', cluster) === 1 &&
            // 3 members × 2 peers.
            count(
              'etcd_network_peer_round_trip_time_seconds',
              cluster,
              'etcd_network_peer_round_trip_time_seconds_count',
            ) === 6,
        );
        return ready && parsed;
      },
      { what: 'both clusters fully collected', timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  afterAll(async () => {
    await exporter?.stop();
    await Promise.all([sim?.stop(), real?.destroy()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives the exporter the same series as a real cluster of that version', () => {
    const realProfile = seriesProfile(exposed, 'real');
    const simProfile = seriesProfile(exposed, 'sim');
    // Families and their label names: exactly the same.
    const families = (p: typeof realProfile) => [...p.labelNames.keys()].filter((f) => !TIMING.has(f)).sort();
    expect(families(simProfile)).toEqual(families(realProfile));
    for (const family of families(realProfile))
      expect(simProfile.labelNames.get(family), family).toEqual(realProfile.labelNames.get(family));
    // Series, with addresses and IDs replaced by what they are (own ID, a peer's, 0): the same, and as many.
    const differences: string[] = [];
    for (const key of new Set([...realProfile.series.keys(), ...simProfile.series.keys()])) {
      const r = realProfile.series.get(key);
      const s = simProfile.series.get(key);
      if (r?.count === s?.count || TIMING.has((r ?? s)!.sample.name.replace(/_(bucket|sum|count)$/, '')))
        continue;
      if (!r && CAPTURE_HISTORY.some((f) => f(s!.sample))) continue;
      if (r && s && historyDependent(r.sample)) continue;
      differences.push(`${key}: real ${r?.count ?? 0}, simulated ${s?.count ?? 0}`);
    }
    expect(differences).toEqual([]);
    // The capture's own history is there, so the list above stays honest.
    expect([...simProfile.series.values()].some((s) => CAPTURE_HISTORY[0]!(s.sample))).toBe(true);
  });

  it('agrees with the real cluster on members, leader and quorum', () => {
    const verdicts = (cluster: string) =>
      [
        'etcd_monitor_cluster_members',
        'etcd_monitor_cluster_members_healthy',
        'etcd_monitor_cluster_members_reachable',
        'etcd_monitor_cluster_quorum_size',
        'etcd_monitor_cluster_quorum_available',
        'etcd_monitor_cluster_failure_tolerance',
        'etcd_monitor_cluster_has_leader',
        'etcd_monitor_cluster_leaders_claimed',
        'etcd_monitor_cluster_split_brain',
        'etcd_monitor_cluster_partition_suspected',
        'etcd_monitor_cluster_hash_consistent',
        'etcd_monitor_cluster_distinct_versions',
        'etcd_monitor_member_health_state',
        'etcd_monitor_member_is_leader',
        'etcd_server_has_leader',
        'etcd_server_is_leader',
      ].flatMap((name) =>
        (exposed.get(name)?.samples ?? [])
          .filter((s) => s.labels['cluster'] === cluster)
          .map(
            (s) =>
              `${name}{role=${s.labels['role'] ?? ''},reason=${s.labels['reason'] ?? ''},state=${s.labels['state'] ?? ''}} ${s.value}`,
          )
          .sort(),
      );
    expect(verdicts('sim')).toEqual(verdicts('real'));
    expect(verdicts('sim')).toContain('etcd_monitor_cluster_members_healthy{role=,reason=,state=} 3');
    for (const cluster of ['real', 'sim']) {
      // The leader by Status (exporter's verdict) is the member whose own /metrics says is_leader 1.
      const byMember = (name: string) =>
        new Map(
          (exposed.get(name)?.samples ?? [])
            .filter((s) => s.labels['cluster'] === cluster)
            .map((s) => [s.labels['member'], s.value]),
        );
      expect(byMember('etcd_server_is_leader'), cluster).toEqual(byMember('etcd_monitor_member_is_leader'));
    }
  });

  it("answers Status, MemberList, HashKV and /metrics with one consistent cluster's identity", async () => {
    const endpoints = sim.clusters[0]!.endpoints;
    const clients = endpoints.map((e) => new MemberClient(e, undefined, TIMEOUTS));
    const http = new MemberHttpClient(undefined, TIMEOUTS);
    try {
      const statuses = await Promise.all(clients.map((c) => c.status()));
      const lists = await Promise.all(clients.map((c) => c.memberList()));
      const ids = statuses.map((s) => s.memberId);
      expect(new Set(ids).size).toBe(3);
      expect(new Set(statuses.map((s) => s.leaderId))).toEqual(new Set([ids[0]]));
      expect(new Set(statuses.map((s) => s.clusterId)).size).toBe(1);
      expect(statuses.every((s) => s.version.startsWith(`${VERSION}.`))).toBe(true);
      for (const list of lists) {
        expect(list.map((m) => m.id)).toEqual(ids);
        expect(list.map((m) => m.clientUrls)).toEqual(endpoints.map((e) => [e]));
        expect(new Set(list.map((m) => m.peerUrls[0])).size).toBe(3);
      }
      const revision = Math.min(...statuses.map((s) => s.revision));
      const hashes = await Promise.all(clients.map((c) => c.hashKv(revision)));
      expect(new Set(hashes.map((h) => h.hash)).size).toBe(1);
      for (const [i, endpoint] of endpoints.entries()) {
        const metrics = parsePromText(await http.fetchMetricsText(endpoint));
        const one = (name: string) => metrics.get(name)?.samples[0];
        expect(one('etcd_server_id')?.labels['server_id']).toBe(ids[i]);
        expect(one('etcd_server_is_leader')?.value).toBe(statuses[i]!.leaderId === ids[i] ? 1 : 0);
        expect(one('etcd_server_has_leader')?.value).toBe(1);
        const peers = new Set(
          metrics.get('etcd_network_peer_sent_bytes_total')?.samples.map((s) => s.labels['To']),
        );
        expect(peers).toEqual(new Set(ids.filter((id) => id !== ids[i])));
        expect(await http.health(endpoint)).toEqual({ healthy: true, reason: '' });
      }
      // Gzipped for a client that accepts it, as etcd's promhttp handler does for Prometheus.
      const res = await request(`${endpoints[0]}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
      expect(res.headers['content-encoding']).toBe('gzip');
      const inflated = parsePromText(
        gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString('latin1'),
      );
      const plain = parsePromText(await http.fetchMetricsText(endpoints[0]!));
      expect([...inflated.keys()]).toEqual([...plain.keys()]);
    } finally {
      clients.forEach((c) => c.close());
      await http.close();
    }
  });

  it('advances counters and histograms between scrapes, monotonic and consistent', async () => {
    const http = new MemberHttpClient(undefined, TIMEOUTS);
    try {
      const endpoint = sim.clusters[0]!.endpoints[1]!;
      const first = parsePromText(await http.fetchMetricsText(endpoint));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const second = parsePromText(await http.fetchMetricsText(endpoint));
      for (const scrape of [first, second]) expect(checkHistograms(scrape)).toEqual([]);
      const before = counterSamples(first);
      const after = counterSamples(second);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      const decreased = [...after].filter(([key, v]) => v < before.get(key)!).map(([key]) => key);
      expect(decreased).toEqual([]);
      const advanced = [...after].filter(([key, v]) => v > before.get(key)!).map(([key]) => key);
      // Time-driven (peer bytes, CPU), raft-driven (the exporter's probe writes: WAL fsyncs) and
      // call-driven (the exporter's Status calls) series all moved.
      for (const expected of [
        /^etcd_network_peer_sent_bytes_total\{/,
        /^process_cpu_seconds_total/,
        /^etcd_disk_wal_fsync_duration_seconds_count/,
        /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="\+Inf"\}/,
        /^grpc_server_started_total\{.*grpc_method="Status"/,
      ])
        expect(
          advanced.some((key) => expected.test(key)),
          String(expected),
        ).toBe(true);
      // Failure counters stay where the capture had them: a simulated member is a healthy one.
      expect(advanced.filter((key) => /fail|leader_changes|grpc_code="(?!OK)/.test(key))).toEqual([]);
    } finally {
      await http.close();
    }
  });

  it('runs in its own process and stops with it', async () => {
    expect(sim.pid).toBeGreaterThan(0);
    expect(sim.pid).not.toBe(process.pid);
    const other = await spawnSimulatedMembers({ clusters: 2, membersPerCluster: 1, clusterPrefix: 'solo' });
    expect(other.clusters.map((c) => [c.name, c.endpoints.length])).toEqual([
      ['solo-0', 1],
      ['solo-1', 1],
    ]);
    await other.stop();
    expect(() => process.kill(other.pid!, 0)).toThrow();
  });
});
