import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { startCluster, type EtcdCluster } from '../harness/etcd-cluster.js';

/** The clusters the exporter benchmark runs against, plus the config file naming all of them. */
export interface BenchFixture {
  readonly clusters: readonly EtcdCluster[];
  readonly names: readonly string[];
  /** YAML config used both in-process (round timing) and by the exporter child process. */
  readonly configFile: string;
  readonly dir: string;
  destroy(): Promise<void>;
}

/** Options of the fixture; the issue asks for 10 clusters × 3 members. */
export interface FixtureOptions {
  readonly clusters: number;
  readonly members: number;
  readonly keysPerCluster: number;
  readonly metricsIntervalSeconds: number;
}

/**
 * Starts the clusters one after another (30 etcd processes starting at once on a 2-core machine miss
 * the harness' start deadline), seeds a few keys in each so mvcc/backend series are not all zero,
 * and writes the exporter config. On any failure everything started so far is destroyed.
 */
export async function startFixture(opts: FixtureOptions, log: (msg: string) => void): Promise<BenchFixture> {
  const clusters: EtcdCluster[] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'etcd-monitor-bench-'));
  const destroy = async () => {
    await Promise.all(clusters.map((c) => c.destroy()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const names = Array.from({ length: opts.clusters }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
    for (const name of names) {
      const started = Date.now();
      clusters.push(await startCluster({ size: opts.members, name }));
      log(`  ${name}: ${opts.members} members healthy in ${Date.now() - started} ms`);
    }
    await Promise.all(clusters.map((c) => seed(c, opts.keysPerCluster)));
    const configFile = path.join(dir, 'exporter.yaml');
    await writeFile(configFile, renderConfig(names, clusters, opts.metricsIntervalSeconds));
    return { clusters, names, configFile, dir, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

async function seed(cluster: EtcdCluster, keys: number): Promise<void> {
  const client = new Etcd3({ hosts: [...cluster.endpoints] });
  try {
    const value = 'v'.repeat(256);
    for (let i = 0; i < keys; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, keys - i) }, (_, k) =>
          client.put(`/bench/key-${String(i + k).padStart(6, '0')}`).value(value),
        ),
      );
    }
  } finally {
    client.close();
  }
}

function renderConfig(names: readonly string[], clusters: readonly EtcdCluster[], intervalS: number): string {
  const lines = [`metrics_interval: ${intervalS}s`, 'log_level: warn', 'clusters:'];
  clusters.forEach((c, i) => {
    lines.push(`  - name: ${names[i]}`, '    endpoints:');
    for (const endpoint of c.endpoints) lines.push(`      - ${endpoint}`);
  });
  return lines.join('\n') + '\n';
}
