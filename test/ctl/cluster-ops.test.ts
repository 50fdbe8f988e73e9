import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DefragMemberResult,
  EndpointHealth,
  EndpointStatus,
  SnapshotResult,
} from '../../src/ctl/operations.js';
import type { MemberListEntry } from '../../src/etcd/types.js';
import { CtlError } from '../../src/ctl/errors.js';
import { EtcdOperations } from '../../src/ctl/operations.js';
import { ETCD_BIN, etcdVersion, startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePorts } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';
import { ctl, ctlError, ctlJson } from './helpers.js';

const execFileAsync = promisify(execFile);

let cluster: EtcdCluster;
let ep: string[];
let tmp: string;

beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
  ep = cluster.endpoints;
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ctl-cluster-ops-'));
  // Some content, so snapshot and defrag have more than an empty bolt file to work on.
  for (let i = 0; i < 50; i++) await ctlJson(ep, 'put', `data/${i}`, 'x'.repeat(2048));
});
afterAll(async () => {
  await cluster?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function memberIdOf(index: number): Promise<string> {
  const { statuses } = await ctlJson<{ statuses: EndpointStatus[] }>(
    [ep[index] as string],
    'endpoint',
    'status',
  );
  return (statuses[0] as EndpointStatus).memberId;
}

describe('ctl endpoint / member / alarm', () => {
  it('endpoint health and status --cluster cover every member, exactly one of them the leader', async () => {
    const health = await ctlJson<{ endpoints: EndpointHealth[] }>(
      [ep[0] as string],
      'endpoint',
      'health',
      '--cluster',
    );
    expect(health.endpoints.map((h) => h.endpoint).sort()).toEqual([...ep].sort());
    expect(health.endpoints.every((h) => h.healthy)).toBe(true);

    const status = await ctlJson<{ statuses: EndpointStatus[]; errors: unknown[] }>(
      [ep[0] as string],
      'endpoint',
      'status',
      '--cluster',
    );
    expect(status.errors).toEqual([]);
    expect(status.statuses).toHaveLength(3);
    expect(status.statuses.filter((s) => s.isLeader)).toHaveLength(1);
    expect(new Set(status.statuses.map((s) => s.clusterId)).size).toBe(1);
    expect(status.statuses.every((s) => s.version === etcdVersion() && s.dbSizeBytes > 0)).toBe(true);
    const leaderIndex = await cluster.leaderIndex();
    expect(status.statuses.find((s) => s.isLeader)?.endpoint).toBe(ep[leaderIndex]);
  });

  it('member list matches the running members and alarm list is empty on a healthy cluster', async () => {
    const { members } = await ctlJson<{ members: MemberListEntry[] }>(ep, 'member', 'list');
    expect(members.map((m) => m.name).sort()).toEqual(cluster.members.map((m) => m.name).sort());
    expect(members.every((m) => /^[0-9a-f]+$/.test(m.id) && !m.isLearner)).toBe(true);
    expect(await ctlJson(ep, 'alarm', 'list')).toEqual({ alarms: [] });
  });

  it('adds a learner, which joins, gets promoted to a voting member, and is removed again', async () => {
    const [clientPort, peerPort] = await freePorts(2);
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    // etcd refuses reconfiguration ("unhealthy cluster") until every member has been connected for 5 s.
    const addRun = await waitFor(
      async () => {
        const run = await ctl(ep, 'member', 'add', 'learner-x', '--peer-urls', peerUrl, '--learner');
        if (run.code !== 0) throw new Error(run.stderr);
        return run;
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: 'member add to be accepted' },
    );
    const added = JSON.parse(addRun.stdout) as { member: MemberListEntry; env: Record<string, string> };
    expect(added.member).toMatchObject({ isLearner: true, peerUrls: [peerUrl] });
    expect(added.env.ETCD_INITIAL_CLUSTER).toContain(`learner-x=${peerUrl}`);
    const id = added.member.id;
    let proc: TrackedProcess | undefined;
    try {
      // An unstarted learner cannot be promoted yet.
      const early = await ctl(ep, 'member', 'promote', id);
      expect(early.code).not.toBe(0);

      proc = spawnTracked(
        ETCD_BIN,
        [
          '--name=learner-x',
          `--data-dir=${path.join(tmp, 'learner-x')}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=${added.env.ETCD_INITIAL_CLUSTER}`,
          '--initial-cluster-state=existing',
          '--heartbeat-interval=100',
          '--election-timeout=1000',
        ],
        { label: 'learner-x' },
      );

      // etcd refuses promotion until the learner's log has caught up with the leader's.
      await waitFor(async () => (await ctl(ep, 'member', 'promote', id)).code === 0, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: `learner ${id} to be promotable (${proc.output().split('\n').slice(-3).join(' | ')})`,
      });
      // The new member publishes its name and client URL through raft on its own schedule.
      const members = await waitFor(
        async () => {
          const list = (await ctlJson<{ members: MemberListEntry[] }>(ep, 'member', 'list')).members;
          return list.find((m) => m.id === id)?.name ? list : undefined;
        },
        { timeoutMs: 30_000, what: 'the new member to publish its name' },
      );
      expect(members.find((m) => m.id === id)).toMatchObject({
        name: 'learner-x',
        isLearner: false,
        clientUrls: [clientUrl],
      });
      expect(members).toHaveLength(4);

      expect(await ctlJson(ep, 'member', 'remove', id)).toEqual({ id });
      const after = await ctlJson<{ members: MemberListEntry[] }>(ep, 'member', 'list');
      expect(after.members.map((m) => m.id)).not.toContain(id);
      const again = await ctl(ep, 'member', 'remove', id);
      expect(again.code).toBe(3);
      expect(ctlError(again).code).toBe('NOT_FOUND');
    } finally {
      if (proc) await terminate(proc, 'SIGKILL');
      // Leave a 3-member cluster behind even when an assertion failed halfway.
      await ctl(ep, 'member', 'remove', id);
    }
  });

  it('move-leader hands leadership to the chosen follower', async () => {
    const before = await cluster.leaderIndex();
    const targetIndex = (before + 1) % 3;
    const targetId = await memberIdOf(targetIndex);
    const res = await ctlJson<{ from: string; to: string }>([ep[0] as string], 'move-leader', targetId);
    expect(res).toEqual({ from: await memberIdOf(before), to: targetId });
    await waitFor(async () => (await cluster.leaderIndex()) === targetIndex, {
      timeoutMs: 15_000,
      what: 'the new leader',
    });
  });
});

describe('ctl snapshot save', () => {
  it('saves a snapshot whose size and SHA-256 trailer check out and that etcdctl can read', async () => {
    const last = await ctlJson<{ revision: number }>(ep, 'put', 'snap/marker', 'here');
    const file = path.join(tmp, 'snap.db');
    const res = await ctlJson<SnapshotResult>([ep[1] as string], 'snapshot', 'save', file);
    expect(res).toMatchObject({ path: file, hashVerified: true, endpoint: ep[1] });
    expect(res.sizeBytes).toBe(res.expectedSizeBytes);

    const bytes = await readFile(file);
    expect(bytes.length).toBe(res.sizeBytes + 32);
    const digest = createHash('sha256').update(bytes.subarray(0, res.sizeBytes)).digest();
    expect(digest.equals(bytes.subarray(res.sizeBytes))).toBe(true);
    expect(digest.toString('hex')).toBe(res.sha256);

    const { stdout } = await execFileAsync('etcdctl', ['snapshot', 'status', file, '-w', 'json'], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    const status = JSON.parse(stdout) as { revision: number; totalKey: number };
    expect(status.revision).toBeGreaterThanOrEqual(last.revision);
    expect(status.totalKey).toBeGreaterThanOrEqual(51);
  });

  it('fails with exit 4 and leaves no file behind when the member is unreachable', async () => {
    const file = path.join(tmp, 'unreachable.db');
    const run = await ctl(['http://127.0.0.1:1'], 'snapshot', 'save', file);
    expect(run.code).toBe(4);
    await expect(readFile(file)).rejects.toThrow();
    await expect(readFile(`${file}.part`)).rejects.toThrow();
  });
});

describe('ctl defrag', () => {
  it('defragments every member one at a time with the leader last', async () => {
    // Deleting data leaves free pages, so defrag has something to reclaim.
    await ctlJson(ep, 'del', 'data/', '--prefix');
    const leaderId = await memberIdOf(await cluster.leaderIndex());
    const { members } = await ctlJson<{ members: DefragMemberResult[] }>(
      [ep[0] as string],
      'defrag',
      '--cluster',
    );
    expect(members.map((m) => m.endpoint).sort()).toEqual([...ep].sort());
    expect(members.at(-1)).toMatchObject({ memberId: leaderId, wasLeader: true });
    expect(members.slice(0, -1).every((m) => !m.wasLeader)).toBe(true);
    expect(members.every((m) => m.dbSizeAfterBytes <= m.dbSizeBeforeBytes)).toBe(true);
    const health = await ctlJson<{ endpoints: EndpointHealth[] }>(ep, 'endpoint', 'health');
    expect(health.endpoints.every((h) => h.healthy)).toBe(true);
  });

  it('stops between members when the cluster turns unhealthy mid-run, reporting what was done', async () => {
    const leader = await cluster.leaderIndex();
    const ops = new EtcdOperations({ endpoints: ep });
    let victim: number | undefined;
    try {
      const err = await ops
        .defrag({
          healthTimeoutMs: 3000,
          // After the first member, take down another follower that has not been defragmented yet.
          onMember: (m) => {
            if (victim !== undefined) return;
            victim = [0, 1, 2].find((i) => i !== leader && ep[i] !== m.endpoint) as number;
            void cluster.kill(victim);
          },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CtlError);
      const e = err as CtlError;
      expect(e.kind).toBe('UNHEALTHY');
      const details = e.details as { done: { endpoint: string }[]; remaining: string[] };
      expect(details.done).toHaveLength(1);
      expect(details.remaining).toHaveLength(2);
      expect(details.remaining).toContain(ep[leader]);
      expect(details.remaining).toContain(ep[victim as number]);
    } finally {
      ops.close();
      if (victim !== undefined) await cluster.restart(victim);
    }
    await cluster.waitHealthy();
  });

  it('refuses to start when a member is down (exit 4), and works again after it is back', async () => {
    const victim = ((await cluster.leaderIndex()) + 1) % 3;
    await cluster.kill(victim);
    try {
      // Requests fail over from the dead endpoint (it may be the first listed) to the live ones.
      for (let i = 0; i < 10; i++) expect((await ctl(ep, 'put', 'failover/k', String(i))).code).toBe(0);
      const run = await ctl(ep, 'defrag', '--cluster', '--health-timeout', '2');
      expect(run.code).toBe(4);
      const err = ctlError(run);
      expect(err.code).toBe('UNHEALTHY');
      expect(err.message).toContain(ep[victim]);
      expect(err.details).toMatchObject({ done: [] });
      const health = await ctl(ep, 'endpoint', 'health');
      expect(health.code).toBe(4);
    } finally {
      await cluster.restart(victim);
    }
    await cluster.waitHealthy();
    const { members } = await ctlJson<{ members: DefragMemberResult[] }>(ep, 'defrag', '--cluster');
    expect(members).toHaveLength(3);
  });
});
