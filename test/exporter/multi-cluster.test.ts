import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';

describe('several clusters from one YAML file', () => {
  let east: EtcdCluster;
  let west: EtcdCluster;
  let exporter: ExporterProcess;
  let dir: string;

  beforeAll(async () => {
    [east, west] = await Promise.all([
      startCluster({ size: 1, name: 'east' }),
      startCluster({ size: 3, name: 'west' }),
    ]);
    dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-multi-'));
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      yaml.dump({
        health_check_interval: '1s',
        metrics_interval: '1s',
        clusters: [
          { name: 'east', endpoints: east.endpoints, tags: { env: 'prod', region: 'eu' } },
          { name: 'west', endpoints: west.endpoints, tags: { env: 'staging' }, expected_members: 5 },
        ],
      }),
    );
    exporter = await startExporter({ args: ['--config', file] });
  });

  afterAll(async () => {
    await exporter?.stop();
    await Promise.all([east?.destroy(), west?.destroy()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('labels every series with its cluster and keeps the clusters apart', async () => {
    await waitFor(
      async () => (await exporter.sample('etcd_monitor_cluster_members_healthy', { cluster: 'west' })) === 3,
      {
        what: 'west healthy',
        timeoutMs: 20_000,
      },
    );
    expect(await exporter.sample('etcd_monitor_cluster_members', { cluster: 'east', role: 'voting' })).toBe(
      1,
    );
    expect(await exporter.sample('etcd_monitor_cluster_members', { cluster: 'west', role: 'voting' })).toBe(
      3,
    );
    expect(await exporter.sample('etcd_monitor_cluster_quorum_size', { cluster: 'east' })).toBe(1);
    expect(await exporter.sample('etcd_monitor_cluster_quorum_size', { cluster: 'west' })).toBe(2);
    expect(await exporter.sample('etcd_monitor_cluster_expected_members', { cluster: 'west' })).toBe(5);
    expect(
      await exporter.sample('etcd_monitor_cluster_expected_members', { cluster: 'east' }),
    ).toBeUndefined();
    const text = await exporter.metricsText();
    expect(text).toContain('etcd_monitor_cluster_tags_info{cluster="east",env="prod",region="eu"} 1');
    expect(text).toContain('etcd_monitor_cluster_tags_info{cluster="west",env="staging",region=""} 1');
    expect(text).toMatch(/^etcd_server_has_leader\{cluster="west",member="west-\d",instance="[^"]+"\} 1$/m);
    // Relayed series carry instance = the watched client URL's host:port, as a direct scrape would name
    // each member; the Watch and LeaseKeepAlive stream series are there whether or not a client opened one.
    for (const [name, c] of [['east', east] as const, ['west', west] as const]) {
      const instances = [
        ...text.matchAll(
          new RegExp(
            `^etcd_server_has_leader\\{cluster="${name}",member="[^"]+",instance="([^"]+)"\\}`,
            'gm',
          ),
        ),
      ].map((m) => m[1]);
      expect(instances.sort()).toEqual(c.endpoints.map((e) => new URL(e).host).sort());
      for (const method of ['Watch', 'LeaseKeepAlive'])
        expect(
          text.match(
            new RegExp(
              `^grpc_server_started_total\\{cluster="${name}",[^}]*grpc_method="${method}",grpc_service="etcdserverpb\\.`,
              'gm',
            ),
          ),
          `${name} ${method}`,
        ).toHaveLength(c.endpoints.length);
    }
  });

  it('selects a cluster in the REST API with ?cluster=', async () => {
    const west = (
      await exporter.json<{ cluster: string; member_count: number }>('/api/v1/cluster/status?cluster=west')
    ).body;
    expect(west).toMatchObject({ cluster: 'west', member_count: 3 });
    const first = (await exporter.json<{ cluster: string }>('/api/v1/cluster/status')).body;
    expect(first.cluster).toBe('east');
    const list = (
      await exporter.json<{ clusters: { name: string; tags: Record<string, string> }[] }>('/api/v1/clusters')
    ).body;
    expect(list.clusters.map((c) => c.name)).toEqual(['east', 'west']);
    expect(list.clusters[0]?.tags).toEqual({ env: 'prod', region: 'eu' });
  });
});
