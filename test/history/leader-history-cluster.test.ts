import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaderChangeEvent } from '../../src/history/leader-history.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';

// A real 3-member etcd cluster watched by the real exporter: killing the leader is one recorded change
// (previous leader, new leader, new term), kept across an exporter restart, which itself records nothing.

let cluster: EtcdCluster;
let exporter: ExporterProcess | undefined;
let dataDir: string;

beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'leader-history-cluster-'));
}, 120_000);
afterAll(async () => {
  await exporter?.stop();
  await cluster?.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

const start = () =>
  startExporter({
    args: [
      '--endpoints',
      cluster.endpoints.join(','),
      '--cluster-name',
      'lh',
      '--data-dir',
      dataDir,
      ...FAST_INTERVALS,
    ],
  });

async function changes(e: ExporterProcess): Promise<LeaderChangeEvent[]> {
  const { status, body } = await e.json<{ changes: LeaderChangeEvent[] }>(
    '/api/v1/cluster/leader/history?cluster=lh',
  );
  expect(status).toBe(200);
  return body.changes;
}

describe('leader history on a real cluster', () => {
  it('records the change when the leader is killed, keeps it across a restart, and a restart records none', async () => {
    exporter = await start();
    const before = await exporter.json<{ leader_name: string; raft_term: number }>(
      '/api/v1/cluster/leader?cluster=lh',
    );
    expect(await changes(exporter)).toEqual([]);
    const victim = await cluster.leaderIndex();
    const victimName = cluster.members[victim]?.name;
    expect(before.body.leader_name).toBe(victimName);
    await cluster.kill(victim);

    const recorded = await waitFor(
      async () => {
        const c = await changes(exporter as ExporterProcess);
        return c.length > 0 ? c : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'a leader change in the history' },
    );
    expect(recorded).toHaveLength(1);
    const change = recorded[0] as LeaderChangeEvent;
    expect(change.previousLeader).toBe(victimName);
    expect(change.leader).not.toBe(victimName);
    expect(cluster.members.map((m) => m.name)).toContain(change.leader);
    expect(change.term).toBeGreaterThan(before.body.raft_term);

    await exporter.stop();
    exporter = await start();
    // Several rounds after the restart: the first observation (a known leader) is not a change.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(await changes(exporter)).toEqual([change]);
  }, 120_000);
});
