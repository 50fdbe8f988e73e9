import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor } from '../../harness/processes.js';
import { PROMETHEUS_BIN } from '../support/prometheus.js';

// Issue #16 part 3: three replicas of the real exporter share one config of ten real etcd clusters
// (single-member: 10 etcd processes next to 4 exporters on a 2-core machine); each cluster is watched by
// exactly one replica, the one a real Prometheus' `hashmod` relabelling names, and together they serve
// exactly the cluster-labelled series one unsharded exporter serves over the same ten clusters.

const ROOT = resolve(import.meta.dirname, '../..');
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

interface Prom {
  readonly url: string;
  query(expr: string): Promise<Array<{ metric: Record<string, string> }>>;
  stop(): Promise<void>;
}

/** A real Prometheus with `config` (none: a remote-write receiver with no scrape job), cleaned up by stop(). */
async function startProm(extraArgs: string[], config: object = {}, port?: number): Promise<Prom> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-shard-prom-'));
  const listen = port ?? (await freePort());
  writeFileSync(join(dir, 'prometheus.yml'), yaml.dump(config));
  const proc = spawnTracked(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${listen}`,
      ...(Object.keys(config).length === 0 ? ['--web.enable-remote-write-receiver'] : []),
      ...extraArgs,
    ],
    { label: 'prometheus' },
  );
  const url = `http://127.0.0.1:${listen}`;
  const stop = async () => {
    await terminate(proc, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.status === 200, {
      what: 'Prometheus ready',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return {
    url,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string> }> } };
      return body.data.result;
    },
    stop,
  };
}

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
    // Both sides are read once a second and what each served is accumulated: some series exist only while
    // something happens between two rounds (a p99 of WAL fsyncs needs fsyncs in that window; etcd creates a
    // gRPC method's series on its first call), and the sides' rounds are not at the same instants. Over the
    // same period both must have served the same series.
    const last = {
      union: new Set<string>(),
      whole: new Set<string>(),
      owners: new Map<string, Set<number>>(),
    };
    let polls = 0;
    const same = async () => {
      const [whole, ...texts] = await Promise.all([unsharded, ...replicas].map((e) => e.metricsText()));
      for (const s of clusterSeries(whole!)) last.whole.add(s);
      texts.forEach((text, index) => {
        for (const s of clusterSeries(text)) {
          last.union.add(s);
          const set = last.owners.get(clusterOf(s)) ?? new Set<number>();
          last.owners.set(clusterOf(s), set.add(index));
        }
      });
      polls++;
      return (
        polls >= 3 && last.union.size === last.whole.size && [...last.whole].every((s) => last.union.has(s))
      );
    };
    await waitFor(same, {
      what: 'union of replicas == unsharded',
      timeoutMs: 45_000,
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
  }, 90_000);

  it('the status page of a replica shows its own clusters only', async () => {
    for (const replica of replicas) {
      const owned = (await replica.json<{ clusters: string[] }>('/ready')).body.clusters;
      const page = await (await fetch(`${replica.url}/`)).text();
      for (const name of CLUSTERS) {
        // Each card's title is "Cluster <name>: <verdict>".
        expect(
          page.includes(`>Cluster ${name}: <`),
          `${name} on the page of a replica owning ${owned.join(',')}`,
        ).toBe(owned.includes(name));
      }
    }
  });

  it("README's remote-write prometheus.yml: a real Prometheus scrapes the 3 replicas and remote-writes every cluster once to a second one", async () => {
    // The snippet of README "Sharding" as users copy it; only addresses and the interval are the test's.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## Sharding\n');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block, 'the yaml block of README "Sharding"').toBeDefined();
    const config = yaml.load(block!) as {
      global: { external_labels: Record<string, string>; scrape_interval?: string };
      scrape_configs: Array<{ honor_labels: boolean; static_configs: Array<{ targets: string[] }> }>;
      remote_write: Array<{ url: string }>;
    };
    expect(config.scrape_configs[0]!.honor_labels).toBe(true);
    expect(Object.keys(config.global.external_labels)).not.toContain('cluster');
    const [receiver, sender] = await Promise.all([startProm([]), freePort()]);
    try {
      config.global.scrape_interval = '1s';
      config.scrape_configs[0]!.static_configs = [{ targets: replicas.map((r) => `127.0.0.1:${r.port}`) }];
      config.remote_write[0]!.url = `${receiver.url}/api/v1/write`;
      const prom = await startProm([], config, sender);
      try {
        type Row = { metric: Record<string, string> };
        let rows: Row[] = [];
        let shards: Row[] = [];
        let leader: Row[] = [];
        // Remote write sends a scrape's series in parallel shards: wait until all three kinds have arrived.
        await waitFor(
          async () => {
            [rows, shards, leader] = await Promise.all([
              receiver.query('etcd_monitor_cluster_info'),
              receiver.query('etcd_monitor_shard_info'),
              receiver.query('etcd_server_has_leader{cluster="c0"}'),
            ]);
            return rows.length >= CLUSTERS.length && shards.length >= REPLICAS && leader.length > 0;
          },
          { what: 'every cluster and replica remote-written', timeoutMs: 60_000, intervalMs: 1000 },
        ).catch(() => undefined);
        expect(rows.map((r) => r.metric['cluster']).sort()).toEqual(CLUSTERS);
        for (const r of rows) expect(r.metric).toMatchObject(config.global.external_labels);
        expect(shards.map((r) => r.metric['shard_index']).sort()).toEqual(['0', '1', '2']);
        // honor_labels: a relayed member series keeps its member's instance, not the replica's address.
        expect(leader.map((r) => r.metric['instance'])).toEqual(
          clusters[0]!.endpoints.map((e) => new URL(e).host),
        );
      } finally {
        await prom.stop();
      }
    } finally {
      await receiver.stop();
    }
  }, 120_000);

  it("a real Prometheus' hashmod relabelling on the cluster label puts each cluster in the shard that serves it", async () => {
    const owner = new Map<string, string>();
    for (const [index, replica] of replicas.entries()) {
      for (const c of (await replica.json<{ clusters: string[] }>('/ready')).body.clusters)
        owner.set(c, String(index));
    }
    // One target per cluster (never scraped successfully: only the relabelled target labels matter).
    const prom = await startProm([], {
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
    });
    try {
      let targets: Array<{ labels: Record<string, string> }> = [];
      await waitFor(
        async () => {
          const res = await fetch(`${prom.url}/api/v1/targets`).catch(() => undefined);
          if (!res?.ok) return false;
          targets = ((await res.json()) as { data: { activeTargets: typeof targets } }).data.activeTargets;
          return targets.length === CLUSTERS.length;
        },
        { what: 'Prometheus targets', timeoutMs: 30_000, intervalMs: 250 },
      );
      const byPrometheus = new Map(targets.map((t) => [t.labels['cluster']!, t.labels['shard']!]));
      expect(byPrometheus).toEqual(owner);
    } finally {
      await prom.stop();
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
