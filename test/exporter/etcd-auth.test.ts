import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';

const PASSWORD = 'pw-3f9c1d-never-in-logs';

describe('a cluster with etcd authentication enabled', () => {
  let cluster: EtcdCluster;
  let dir: string;
  const exporters: ExporterProcess[] = [];

  beforeAll(async () => {
    cluster = await startCluster({ size: 1 });
    const etcdctl = (...args: string[]) =>
      execFileSync('etcdctl', [`--endpoints=${cluster.endpoints[0]}`, ...args], {
        env: { ...process.env, ETCDCTL_API: '3' },
      });
    etcdctl('user', 'add', `root:${PASSWORD}`);
    etcdctl('auth', 'enable');
    dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-auth-'));
    writeFileSync(join(dir, 'password'), `${PASSWORD}\n`);
  });

  afterAll(async () => {
    for (const e of exporters) await e.stop();
    await cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('probes with --user and --password-file, and never logs or serves the password', async () => {
    const exporter = await startExporter({
      args: [
        '--endpoints',
        cluster.endpoints.join(','),
        '--user',
        'root',
        '--password-file',
        join(dir, 'password'),
        ...FAST_INTERVALS,
      ],
    });
    exporters.push(exporter);
    const member = cluster.members[0]?.name as string;
    await waitFor(
      async () => (await exporter.sample('etcd_monitor_probe_success', { member, operation: 'write' })) === 1,
      {
        what: 'an authenticated probe write',
        timeoutMs: 15_000,
      },
    );
    expect(await exporter.sample('etcd_monitor_cluster_members_healthy')).toBe(1);
    const everything = [
      exporter.proc.output(),
      await exporter.metricsText(),
      JSON.stringify((await exporter.json('/api/v1/cluster/status')).body),
      JSON.stringify((await exporter.json('/api/v1/clusters')).body),
    ].join('\n');
    expect(everything).not.toContain(PASSWORD);
  });

  it('without credentials the probe fails with a permission error, the rest keeps working', async () => {
    const exporter = await startExporter({
      args: ['--endpoints', cluster.endpoints.join(','), ...FAST_INTERVALS],
    });
    exporters.push(exporter);
    const member = cluster.members[0]?.name as string;
    await waitFor(
      async () => (await exporter.sample('etcd_monitor_probe_success', { member, operation: 'write' })) === 0,
      {
        what: 'the probe to be refused',
        timeoutMs: 15_000,
      },
    );
    expect(exporter.proc.output()).toMatch(
      /"collector":"probe".*(user name is empty|permission denied|invalid auth token)/i,
    );
    expect(await exporter.sample('etcd_monitor_collector_success', { member, collector: 'metrics' })).toBe(1);
  });

  it('a user without a password file is a configuration error naming the field', async () => {
    const out = (() => {
      try {
        execFileSync(
          process.execPath,
          ['--import', 'tsx', 'src/cli.ts', '--endpoints', cluster.endpoints.join(','), '--user', 'root'],
          {
            encoding: 'utf8',
            stdio: 'pipe',
          },
        );
        return { status: 0, stderr: '' };
      } catch (err) {
        const e = err as { status: number; stderr: string };
        return { status: e.status, stderr: e.stderr };
      }
    })();
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--password-file');
  });
});
