// `ctl snapshot status FILE` (our own bbolt reader) against etcdctl's on a real snapshot of a real
// cluster, and against damaged files. Real CLI process.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { ensureBuilt, runCli } from './process-helpers.js';

const execFileAsync = promisify(execFile);
let cluster: EtcdCluster;
let tmp: string;
let snap: string;

async function etcdctl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('etcdctl', args, {
    env: { ...process.env, ETCDCTL_API: '3' },
    maxBuffer: 64 << 20,
  });
  return stdout;
}

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startCluster({ size: 1 });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ctl-snapshot-status-'));
  const ep = `--endpoints=${cluster.endpoints[0]}`;
  // Enough keys for branch pages, one value larger than a page for overflow pages, and a delete.
  // etcdctl txn reads "compares, blank line, success ops, blank line, failure ops" from stdin; 100 ops a txn
  // stays under etcd's --max-txn-ops (128).
  for (let t = 0; t < 15; t++) {
    const ops = Array.from({ length: 100 }, (_, i) => `put snap/k${t * 100 + i} value-${t * 100 + i}`);
    await new Promise<void>((resolve, reject) => {
      const child = execFile('etcdctl', [ep, 'txn'], { env: { ...process.env, ETCDCTL_API: '3' } }, (err) =>
        err ? reject(err) : resolve(),
      );
      child.stdin?.end(`\n${ops.join('\n')}\n\n\n`);
    });
  }
  await etcdctl([ep, 'put', 'snap/big', 'x'.repeat(30_000)]);
  await etcdctl([ep, 'del', 'snap/k1']);
  snap = path.join(tmp, 'snap.db');
  const save = await runCli(['ctl', '--endpoints', cluster.endpoints[0] as string, 'snapshot', 'save', snap]);
  expect(save.code, save.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await cluster?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('snapshot status of a real snapshot', () => {
  it('-w json, simple and table print what etcdctl snapshot status prints', async () => {
    for (const w of ['json', 'simple', 'table']) {
      const run = await runCli(['ctl', 'snapshot', 'status', snap, '-w', w]);
      expect(run.code, run.stderr).toBe(0);
      const theirs = await etcdctl(['snapshot', 'status', snap, '-w', w]);
      // etcdutl-era etcdctl (3.5) adds a "version" field to its JSON; the four shared fields must agree.
      if (w === 'json') {
        const t = JSON.parse(theirs) as Record<string, number>;
        expect(JSON.parse(run.stdout)).toEqual({
          hash: t.hash,
          revision: t.revision,
          totalKey: t.totalKey,
          totalSize: t.totalSize,
        });
        expect(t.totalKey).toBeGreaterThan(1500);
      } else {
        const ascii = theirs
          .replace(/[┌┬┐├┼┤└┴┘]/g, '+')
          .replace(/─/g, '-')
          .replace(/│/g, '|');
        expect(run.stdout).toBe(ascii);
      }
    }
  }, 120_000);

  it('verifies the SHA-256 trailer, and reads a plain db file (no trailer) the same', async () => {
    const run = await runCli(['ctl', 'snapshot', 'status', snap, '--output', 'json']);
    const st = JSON.parse(run.stdout) as {
      sha256: string;
      totalSize: number;
      fileSize: number;
      hash: number;
    };
    expect(st.sha256).toBe('verified');
    expect(st.fileSize).toBe(st.totalSize + 32);
    const plain = path.join(tmp, 'plain.db');
    await copyFile(snap, plain);
    await truncate(plain, st.totalSize);
    const p = await runCli(['ctl', 'snapshot', 'status', plain, '--output', 'json']);
    expect(p.code, p.stderr).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ sha256: 'absent', hash: st.hash });
  }, 60_000);
});

describe('damaged files: one-line error, exit 6 (missing file: 2)', () => {
  const expectRejected = (run: { code: number; stdout: string; stderr: string }, reason: RegExp): void => {
    expect(run.code).toBe(6);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(reason);
  };

  it('truncated', async () => {
    const f = path.join(tmp, 'truncated.db');
    await copyFile(snap, f);
    await truncate(f, 12_000);
    expectRejected(await runCli(['ctl', 'snapshot', 'status', f]), /not a valid etcd snapshot: truncated/);
  }, 60_000);

  it('a flipped byte in the data (caught by the SHA-256 trailer)', async () => {
    const f = path.join(tmp, 'flipped.db');
    await copyFile(snap, f);
    const h = await open(f, 'r+');
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, 9000);
    b[0] = (b[0] as number) ^ 0xff;
    await h.write(b, 0, 1, 9000);
    await h.close();
    expectRejected(await runCli(['ctl', 'snapshot', 'status', f]), /SHA-256 trailer does not match/);
  }, 60_000);

  it('a broken B+tree without a trailer (page reference out of range)', async () => {
    const run = await runCli(['ctl', 'snapshot', 'status', snap, '--output', 'json']);
    const { totalSize } = JSON.parse(run.stdout) as { totalSize: number };
    const f = path.join(tmp, 'broken.db');
    await copyFile(snap, f);
    await truncate(f, totalSize);
    // Zero every page after the metas and freelist: the root bucket page becomes garbage.
    const h = await open(f, 'r+');
    await h.write(Buffer.alloc(totalSize - 4096 * 2), 0, totalSize - 4096 * 2, 4096 * 2);
    await h.close();
    expectRejected(await runCli(['ctl', 'snapshot', 'status', f]), /not a valid etcd snapshot: /);
  }, 60_000);

  it('not a snapshot at all', async () => {
    const f = path.join(tmp, 'random.db');
    await writeFile(f, Buffer.alloc(8192, 7));
    expectRejected(await runCli(['ctl', 'snapshot', 'status', f]), /no meta page with a valid magic number/);
  }, 60_000);

  it('a missing file is a usage error (exit 2) naming it', async () => {
    const run = await runCli(['ctl', 'snapshot', 'status', path.join(tmp, 'absent.db')]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      `etcd-monitor ctl: snapshot status: cannot read ${path.join(tmp, 'absent.db')}: ENOENT`,
    );
  }, 60_000);
});
