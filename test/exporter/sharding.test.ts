import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';
import { PROMETHEUS_BIN } from '../support/prometheus.js';

// Issue #16 part 3: three replicas of the real exporter share one config of ten real etcd clusters
// (single-member: 10 etcd processes next to 4 exporters on a 2-core machine); each cluster is watched by
// exactly one replica, the one a real Prometheus' `hashmod` relabelling names, and together they serve
// exactly the cluster-labelled series one unsharded exporter serves over the same ten clusters.

const CLUSTERS = Array.from({ length: 10 }, (_, i) => `c${i}`);
const REPLICAS = 3;

/** `name{labels}` of every sample line that has a cluster label (values and comments left out). */
function clusterSeries(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes('cluster="')) continue;
    out.add(line.slice(0, line.lastIndexOf(' ')));
  }
  return out;
}

const clusterOf = (series: string): string => /[{,]cluster="([^"]*)"/.exec(series)?.[1] ?? '';

describe('sharding: 3 replicas, 10 clusters', () => {
  let clusters: EtcdCluster[] = [];
  let dir: string;
  let unsharded: ExporterProcess;
  const replicas: ExporterProcess[] = [];

  beforeAll(async () => {
    clusters = await Promise.all(CLUSTERS.map((name) => startCluster({ size: 1, name })));
    dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-shard-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      yaml.dump({
        // Short intervals so that every etcd series the exporters' own calls create shows up in a few seconds.
        health_check_interval: '3s',
        metrics_interval: '2s',
        clusters: CLUSTERS.map((name, i) => ({ name, endpoints: clusters[i]!.endpoints })),
      }),
    );
    const started = await Promise.all([
      startExporter({ args: ['--config', file] }),
      startExporter({ args: ['--config', file, '--shard-count', '3', '--shard-index', '0'] }),
      startExporter({
        args: ['--config', file],
        env: { ETCD_MONITOR_SHARD_COUNT: '3', ETCD_MONITOR_SHARD_INDEX: '1' },
      }),
      // The third takes its index from the StatefulSet-style hostname, as in deploy/kubernetes/statefulset.
      startExporter({ args: ['--config', file, '--shard-count', '3'], env: { HOSTNAME: 'etcd-monitor-2' } }),
    ]);
    unsharded = started[0]!;
    replicas.push(...started.slice(1));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([unsharded?.stop(), ...replicas.map((r) => r.stop())]);
    await Promise.all(clusters.map((c) => c.destroy()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('each replica says which shard it is and lists only its clusters', async () => {
    const owned: string[][] = [];
    for (const [index, replica] of replicas.entries()) {
      expect(
        await replica.sample('etcd_monitor_shard_info', { shard_index: String(index), shard_count: '3' }),
      ).toBe(1);
      const ready = await replica.json<{ clusters: string[] }>('/ready');
      expect(ready.status).toBe(200);
      const api = await replica.json<{ clusters: Array<{ name: string }> }>('/api/v1/clusters');
      expect(api.body.clusters.map((c) => c.name)).toEqual(ready.body.clusters);
      owned.push(ready.body.clusters);
      expect(replica.proc.output()).toContain(`shard ${index} of 3`);
    }
    // Every cluster exactly once across the replicas, and every replica has some (c0..c9 hash to 2, 4, 4).
    expect(owned.flat().sort()).toEqual(CLUSTERS);
    for (const list of owned) expect(list.length).toBeGreaterThan(0);
    const all = await unsharded.json<{ clusters: string[] }>('/ready');
    expect(all.body.clusters).toEqual(CLUSTERS);
    expect(await unsharded.sample('etcd_monitor_shard_info', { shard_index: '0', shard_count: '1' })).toBe(1);
    // The cluster API of a replica answers for its own clusters only.
    const other = owned[1]![0]!;
    expect((await replicas[0]!.json(`/api/v1/cluster/status?cluster=${other}`)).status).toBe(404);
    expect((await replicas[1]!.json(`/api/v1/cluster/status?cluster=${other}`)).status).toBe(200);
  });

  it("the union of the replicas' cluster series equals the unsharded exporter's, each cluster from one replica", async () => {
    let last = { union: new Set<string>(), whole: new Set<string>(), owners: new Map<string, Set<number>>() };
    const same = async () => {
      const texts = await Promise.all(replicas.map((r) => r.metricsText()));
      const whole = clusterSeries(await unsharded.metricsText());
      const owners = new Map<string, Set<number>>();
      const union = new Set<string>();
      texts.forEach((text, index) => {
        for (const s of clusterSeries(text)) {
          union.add(s);
          const set = owners.get(clusterOf(s)) ?? new Set<number>();
          owners.set(clusterOf(s), set.add(index));
        }
      });
      last = { union, whole, owners };
      return union.size === whole.size && [...whole].every((s) => union.has(s));
    };
    // Series that etcd creates on first use of a call (HashKV, the probe's Put) appear in each exporter's
    // output at its next metrics round after the call, so the two sides are compared until they agree.
    await waitFor(same, {
      what: 'union of replicas == unsharded',
      timeoutMs: 60_000,
      intervalMs: 1000,
    }).catch(() => undefined);
    expect(
      [...last.whole].filter((s) => !last.union.has(s)),
      'only in the unsharded exporter',
    ).toEqual([]);
    expect(
      [...last.union].filter((s) => !last.whole.has(s)),
      'only in a replica',
    ).toEqual([]);
    expect(last.whole.size).toBeGreaterThan(CLUSTERS.length * 300);
    // No cluster's series come from two replicas: nothing for Prometheus to deduplicate.
    expect([...last.owners.keys()].sort()).toEqual(CLUSTERS);
    for (const [cluster, owner] of last.owners) expect([...owner], cluster).toHaveLength(1);
  });

  it("a real Prometheus' hashmod relabelling on the cluster label puts each cluster in the shard that serves it", async () => {
    const owner = new Map<string, string>();
    for (const [index, replica] of replicas.entries()) {
      for (const c of (await replica.json<{ clusters: string[] }>('/ready')).body.clusters)
        owner.set(c, String(index));
    }
    const promDir = mkdtempSync(join(tmpdir(), 'etcd-monitor-shard-prom-'));
    const port = await freePort();
    // One target per cluster (never scraped successfully: only the relabelled target labels matter).
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      yaml.dump({
        global: { scrape_interval: '1m' },
        scrape_configs: [
          {
            job_name: 'hashmod',
            static_configs: CLUSTERS.map((cluster, i) => ({
              targets: [`127.0.0.1:${i + 1}`],
              labels: { cluster },
            })),
            relabel_configs: [
              { source_labels: ['cluster'], modulus: REPLICAS, target_label: 'shard', action: 'hashmod' },
            ],
          },
        ],
      }),
    );
    let prom: TrackedProcess | undefined;
    try {
      prom = spawnTracked(
        PROMETHEUS_BIN,
        [
          `--config.file=${join(promDir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(promDir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { label: 'prometheus' },
      );
      let targets: Array<{ labels: Record<string, string> }> = [];
      await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/v1/targets`).catch(() => undefined);
          if (!res?.ok) return false;
          targets = ((await res.json()) as { data: { activeTargets: typeof targets } }).data.activeTargets;
          return targets.length === CLUSTERS.length;
        },
        { what: 'Prometheus targets', timeoutMs: 30_000, intervalMs: 250 },
      );
      const byPrometheus = new Map(targets.map((t) => [t.labels['cluster']!, t.labels['shard']!]));
      expect(byPrometheus).toEqual(owner);
    } finally {
      if (prom) await terminate(prom, 'SIGTERM');
      rmSync(promDir, { recursive: true, force: true });
    }
  });
});

describe('a replica that no cluster hashes to', () => {
  it('is ready and serves its shard info, no cluster series, and says so on the cluster API', async () => {
    // "default" hashes to 0 mod 2 (test/config/shard.test.ts), so ordinal 1 of 2 has nothing to watch; the
    // endpoint is never dialled.
    const replica = await startExporter({
      args: ['--endpoints', 'http://127.0.0.1:9', '--shard-count', '2'],
      env: { HOSTNAME: 'etcd-monitor-1' },
    });
    try {
      expect(await replica.json('/ready')).toEqual({ status: 200, body: { status: 'ready', clusters: [] } });
      const text = await replica.metricsText();
      expect(text).toContain('etcd_monitor_shard_info{shard_index="1",shard_count="2"} 1');
      expect(clusterSeries(text).size).toBe(0);
      const status = await replica.json<{ error: { code: string } }>('/api/v1/cluster/status');
      expect(status.status).toBe(404);
      expect(JSON.stringify(status.body)).toContain('NO_CLUSTERS');
      expect((await replica.json('/api/v1/clusters')).body).toEqual({ clusters: [] });
      expect((await fetch(`${replica.url}/`)).status).toBe(200);
      expect(replica.proc.output()).toContain('shard 1 of 2');
    } finally {
      await replica.stop();
    }
  });
});
