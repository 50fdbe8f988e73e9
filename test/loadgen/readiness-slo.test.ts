import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommend, type MemberFacts, type ReadinessFacts } from '../../src/loadgen/readiness.js';
import { DEFAULT_SLO, judgeProfile, judgeSlo } from '../../src/loadgen/slo.js';
import type { MemberStatus } from '../../src/etcd/types.js';
import { etcdVersion, startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';

const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;

function member(i: number, over: Partial<MemberStatus> = {}, extra: Partial<MemberFacts> = {}): MemberFacts {
  return {
    endpoint: `http://10.0.0.${i}:2379`,
    status: {
      memberId: `m${i}`,
      clusterId: 'c',
      leaderId: 'm1',
      raftTerm: 2,
      raftIndex: 100,
      raftAppliedIndex: 100,
      revision: 50,
      dbSizeBytes: 20 * MiB,
      dbSizeInUseBytes: 18 * MiB,
      version: '3.4.23',
      isLearner: false,
      errors: [],
      ...over,
    },
    quotaBytes: 2048 * MiB,
    walFsyncP99Ms: 2,
    ...extra,
  };
}

const topics = (f: ReadinessFacts) => recommend(f).map((r) => `${r.severity}:${r.topic}`);

describe('readiness recommendations (pure)', () => {
  const healthy: ReadinessFacts = {
    members: [member(1), member(2), member(3)],
    votingMembers: 3,
    learners: 0,
    alarms: [],
  };

  it('a healthy 3-member cluster only gets the note that no disk check ran', () => {
    expect(topics(healthy)).toEqual(['info:disk']);
  });

  it('names each problem with a concrete action', () => {
    const f: ReadinessFacts = {
      members: [
        member(1, { dbSizeBytes: 1000 * MiB, dbSizeInUseBytes: 200 * MiB }),
        member(2, { version: '3.5.9' }),
        member(3, {}, { walFsyncP99Ms: 32 }),
        member(4, { dbSizeBytes: 1900 * MiB, dbSizeInUseBytes: 1800 * MiB }),
      ],
      votingMembers: 4,
      learners: 0,
      alarms: [{ memberId: 'm4', alarm: 'NOSPACE' }],
      disk: {
        dir: '/var/lib/etcd',
        syncs: 10029,
        blockSize: 2300,
        totalBytes: 22 * MiB,
        durationSeconds: 40,
        fdatasync: { p50Ms: 3, p99Ms: 14, p999Ms: 30, maxMs: 50, avgMs: 4 },
        syncsPerSecond: 250,
        passed: false,
        verdict: 'FAIL',
      },
    };
    const recs = recommend(f);
    const text = recs.map((r) => `${r.severity}:${r.topic}:${r.message}`).join('\n');
    expect(text).toMatch(/warning:fragmentation:http:\/\/10\.0\.0\.1:2379: 80% .* defragment/);
    expect(text).toMatch(/warning:version-skew:.*3\.4\.23.*3\.5\.9|warning:version-skew:.*3\.5\.9.*3\.4\.23/);
    expect(text).toMatch(/warning:disk:http:\/\/10\.0\.0\.3:2379: live WAL fsync P99 ≤32 ms .*faster/);
    expect(text).toMatch(/critical:quota:http:\/\/10\.0\.0\.4:2379: .* 93% .*raise --quota-backend-bytes/);
    expect(text).toMatch(/warning:member-count:4 voting members.*odd number/);
    expect(text).toMatch(/critical:alarm:NOSPACE alarm on member m4/);
    expect(text).toMatch(/critical:disk:fdatasync P99 14\.00 ms .*faster disk/);
  });

  it('flags unreachable members and leader disagreement as critical', () => {
    const f: ReadinessFacts = {
      members: [
        member(1),
        member(2, { leaderId: 'm2' }),
        { endpoint: 'http://10.0.0.3:2379', error: 'connect ECONNREFUSED' },
      ],
      votingMembers: 3,
      alarms: [],
    };
    expect(topics(f)).toEqual(expect.arrayContaining(['critical:reachability', 'critical:leader']));
  });
});

describe('SLO and check-perf verdicts (pure)', () => {
  it('judges reads, writes and the 70/30 mix against the design targets', () => {
    const base = { readRatio: 0.7, readOpsPerSec: 0, writeOpsPerSec: 0, p99Ms: 50, failed: 0, total: 1000 };
    expect(judgeSlo({ ...base, workload: 'read', totalOpsPerSec: 40_000 }, DEFAULT_SLO).passed).toBe(true);
    expect(judgeSlo({ ...base, workload: 'read', totalOpsPerSec: 39_999 }, DEFAULT_SLO).passed).toBe(false);
    expect(judgeSlo({ ...base, workload: 'write', totalOpsPerSec: 20_000 }, DEFAULT_SLO).passed).toBe(true);
    const mixed = judgeSlo({ ...base, workload: 'mixed', totalOpsPerSec: 34_000 }, DEFAULT_SLO);
    expect(mixed.checks[0]).toMatchObject({ passed: true, target: '>= 34000' });
    // P99 must be strictly below 100 ms; any error fails with the default zero error budget.
    expect(
      judgeSlo({ ...base, workload: 'write', totalOpsPerSec: 30_000, p99Ms: 100 }, DEFAULT_SLO).passed,
    ).toBe(false);
    expect(
      judgeSlo({ ...base, workload: 'write', totalOpsPerSec: 30_000, failed: 1 }, DEFAULT_SLO).passed,
    ).toBe(false);
  });

  it('reproduces check perf: throughput must exceed 90 % of the limit (exactly 90 % fails), slowest ≤ 0.5 s, stddev ≤ 0.1 s', () => {
    const ok = { opsPerSec: 136, failed: 0, maxMs: 500, stddevMs: 100 };
    expect(judgeProfile('s', ok).passed).toBe(true);
    expect(judgeProfile('s', { ...ok, opsPerSec: 135 }).passed).toBe(false);
    expect(judgeProfile('s', { ...ok, maxMs: 500.1 }).passed).toBe(false);
    expect(judgeProfile('s', { ...ok, stddevMs: 100.1 }).passed).toBe(false);
    expect(judgeProfile('s', { ...ok, failed: 1 }).passed).toBe(false);
    expect(judgeProfile('xl', { ...ok, opsPerSec: 13_501 }).passed).toBe(true);
  });
});

describe('etcd-monitor check against a real cluster', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
  });
  afterAll(() => cluster?.destroy());

  it('reports every member, the disk check and the short benchmark', async () => {
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli.ts',
        'check',
        `--endpoints=${cluster.endpoints.join(',')}`,
        '--disk-dir',
        cluster.members[0]!.dataDir,
        '--with-benchmark',
        '--bench-ops',
        '500',
        '--output',
        'json',
      ],
      { timeout: 90_000 },
    ).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    const r = JSON.parse(stdout) as {
      members: { endpoint: string; status?: { version: string }; quotaBytes?: number }[];
      votingMembers: number;
      disk: { syncs: number };
      bench: { total: number; failed: number; cleanup: { deletedKeys: number } };
      recommendations: { topic: string }[];
      ready: boolean;
    };
    // From the member list (its order is etcd's), each through its advertised client URL.
    expect(r.members.map((m) => m.endpoint).sort()).toEqual([...cluster.endpoints].sort());
    expect(r.members.every((m) => m.status?.version === etcdVersion())).toBe(true);
    expect(r.members.every((m) => (m.quotaBytes ?? 0) > 0)).toBe(true);
    expect(r.votingMembers).toBe(3);
    expect(r.disk.syncs).toBe(Math.floor((22 * MiB) / 2300));
    expect(r.bench).toMatchObject({ total: 500, failed: 0, cleanup: { deletedKeys: 500 } });
    expect(r.recommendations.map((x) => x.topic)).not.toContain('member-count');
  });
});
