import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Etcd3 } from 'etcd3';
import { expect } from 'vitest';
import { BENCH_PREFIX_ROOT } from '../../src/loadgen/prefix.js';

// What "never harm the watched cluster" means in the keyspace-safety tests: a user key written three
// times keeps all three revisions readable (nothing compacted), every key outside the benchmark's
// prefixes is unchanged (key, value, create/mod revision, version, lease) and nothing stays under
// /etcd-monitor/bench/.

const execFileAsync = promisify(execFile);

export const USER_KEY = '/app/config/feature-flags';

export interface UserKeys {
  /** Revisions of the three puts of USER_KEY, oldest first. */
  readonly revisions: readonly number[];
}

/** Writes USER_KEY three times plus some other user keys (one binary, one at the root, one on a lease). */
export async function seedUserKeys(admin: Etcd3): Promise<UserKeys> {
  const revisions: number[] = [];
  for (const v of ['v1', 'v2', 'v3']) {
    const res = await admin.put(USER_KEY).value(v).exec();
    revisions.push(Number(res.header.revision));
  }
  await admin.put('/app/users/alice').value('{"role":"admin"}');
  await admin.put('/app/users/bob').value('{"role":"viewer"}');
  await admin.put(Buffer.from([0x00, 0x01, 0xfe, 0xff])).value(Buffer.from([0xde, 0xad]));
  await admin.put('rootkey').value('at the root');
  // Next to the benchmark's own namespace, not under it.
  await admin.put('/etcd-monitor/benchmark-notes').value('not ours to delete');
  const lease = admin.lease(600, { autoKeepAlive: false });
  await lease.put('/app/session/1').value('leased');
  return { revisions };
}

/** Every key outside /etcd-monitor/bench/ with its value and revisions, sorted by key bytes. */
export async function keyspaceOutsideBench(admin: Etcd3): Promise<string[]> {
  const res = await admin.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
  return res.kvs
    .filter((kv) => !kv.key.toString('latin1').startsWith(BENCH_PREFIX_ROOT))
    .map((kv) =>
      [
        kv.key.toString('hex'),
        kv.value.toString('hex'),
        kv.create_revision,
        kv.mod_revision,
        kv.version,
        kv.lease,
      ].join(' '),
    )
    .sort();
}

/** Keys under /etcd-monitor/bench/ (any run's). */
export async function benchKeys(admin: Etcd3): Promise<number> {
  return Number(await admin.getAll().prefix(BENCH_PREFIX_ROOT).count());
}

/** The assertions every benchmark path must pass afterwards. */
export async function expectUnharmed(
  admin: Etcd3,
  endpoint: string,
  user: UserKeys,
  before: readonly string[],
): Promise<void> {
  expect(await benchKeys(admin)).toBe(0);
  expect(await keyspaceOutsideBench(admin)).toEqual(before);
  // All three revisions readable as a user reads them: etcdctl get --rev.
  for (const [i, rev] of user.revisions.entries()) {
    const { stdout } = await execFileAsync(process.env.ETCDCTL_BIN ?? 'etcdctl', [
      `--endpoints=${endpoint}`,
      'get',
      USER_KEY,
      `--rev=${rev}`,
      '--print-value-only',
    ]);
    expect(stdout.trim()).toBe(`v${i + 1}`);
  }
}
