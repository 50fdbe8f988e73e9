import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { ctl, ctlError, ctlJson } from './helpers.js';
import type { GetResult, KeyValue, LeaseInfo, TxnResult, WatchEvent } from '../../src/ctl/operations.js';
import { runCtl } from '../../src/ctl/commands.js';

let cluster: EtcdCluster;
let ep: string[];

beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
  ep = cluster.endpoints;
});
afterAll(async () => {
  await cluster?.destroy();
});

describe('ctl get / put / del', () => {
  it('writes and reads a single key, keeping values verbatim', async () => {
    const put = await ctlJson<{ revision: number }>(ep, 'put', 'kv/a', '007');
    expect(put.revision).toBeGreaterThan(1);
    const got = await ctlJson<GetResult>(ep, 'get', 'kv/a');
    expect(got.count).toBe(1);
    expect(got.kvs[0]).toMatchObject({ key: 'kv/a', value: '007', version: 1, modRevision: put.revision });
    // A serializable read through another member sees the same committed value once it has applied it.
    const serial = await ctlJson<GetResult>([ep[2] as string], 'get', 'kv/a', '--serializable');
    expect(serial.kvs.map((kv) => kv.value)).toEqual(['007']);
  });

  it('exits 3 for a missing single key but 0 for an empty range', async () => {
    const missing = await ctl(ep, 'get', 'kv/does-not-exist');
    expect(missing.code).toBe(3);
    const empty = await ctl(ep, 'get', 'kv/none/', '--prefix');
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout)).toMatchObject({ count: 0, kvs: [] });
  });

  it('reads ranges, prefixes, from-key, limits, counts and old revisions', async () => {
    const first = await ctlJson<{ revision: number }>(ep, 'put', 'rng/1', 'one');
    await ctlJson(ep, 'put', 'rng/2', 'two');
    await ctlJson(ep, 'put', 'rng/3', 'three');
    await ctlJson(ep, 'put', 'rng0', 'outside the prefix');
    await ctlJson(ep, 'put', 'rng/1', 'uno');

    const prefix = await ctlJson<GetResult>(ep, 'get', 'rng/', '--prefix');
    expect(prefix.kvs.map((kv) => [kv.key, kv.value])).toEqual([
      ['rng/1', 'uno'],
      ['rng/2', 'two'],
      ['rng/3', 'three'],
    ]);
    const range = await ctlJson<GetResult>(ep, 'get', 'rng/1', 'rng/3');
    expect(range.kvs.map((kv) => kv.key)).toEqual(['rng/1', 'rng/2']);
    const fromKey = await ctlJson<GetResult>(ep, 'get', 'rng/3', '--from-key');
    expect(fromKey.kvs.map((kv) => kv.key)).toContain('rng0');
    expect(fromKey.kvs.map((kv) => kv.key)).not.toContain('rng/2');
    const limited = await ctlJson<GetResult>(ep, 'get', 'rng/', '--prefix', '--limit', '2');
    expect(limited).toMatchObject({ count: 3, more: true });
    expect(limited.kvs).toHaveLength(2);
    const counted = await ctlJson<GetResult>(ep, 'get', 'rng/', '--prefix', '--count-only');
    expect(counted).toMatchObject({ count: 3, kvs: [] });
    const keysOnly = await ctlJson<GetResult>(ep, 'get', 'rng/', '--prefix', '--keys-only');
    expect(keysOnly.kvs.every((kv) => kv.value === '')).toBe(true);
    const old = await ctlJson<GetResult>(ep, 'get', 'rng/1', '--rev', String(first.revision));
    expect(old.kvs[0]?.value).toBe('one');
  });

  it('deletes single keys, ranges and prefixes and returns the previous values', async () => {
    for (const k of ['del/a', 'del/b', 'del/c', 'del/d']) await ctlJson(ep, 'put', k, `v-${k}`);
    const single = await ctlJson<{ deleted: number; prevKvs: KeyValue[] }>(ep, 'del', 'del/a', '--prev-kv');
    expect(single.deleted).toBe(1);
    expect(single.prevKvs[0]?.value).toBe('v-del/a');
    const range = await ctlJson<{ deleted: number }>(ep, 'del', 'del/b', 'del/c');
    expect(range.deleted).toBe(1);
    const prefix = await ctlJson<{ deleted: number }>(ep, 'del', 'del/', '--prefix');
    expect(prefix.deleted).toBe(2);
    expect((await ctlJson<GetResult>(ep, 'get', 'del/', '--prefix')).count).toBe(0);
  });

  it("prints etcdctl's simple form by default and the aligned table with --output table", async () => {
    await ctlJson(ep, 'put', 'tbl/x', 'hello');
    const simple = await runCtl(['--endpoints', ep.join(','), 'get', 'tbl/x']);
    expect(simple.code).toBe(0);
    expect(simple.stdout).toBe('tbl/x\nhello\n');
    const run = await runCtl(['--endpoints', ep.join(','), '--output', 'table', 'get', 'tbl/x']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^KEY\s+VALUE\s+CREATE_REV/);
    expect(run.stdout).toMatch(/tbl\/x\s+hello/);
  });
});

describe('ctl txn / cas / compact', () => {
  it('runs the success branch when every compare holds and the failure branch otherwise', async () => {
    await ctlJson(ep, 'put', 'txn/k', 'v1');
    const spec = (expected: string): string =>
      JSON.stringify({
        compare: [{ key: 'txn/k', target: 'value', result: '=', value: expected }],
        success: [{ put: { key: 'txn/k', value: 'v2' } }, { get: { key: 'txn/k' } }],
        failure: [{ get: { key: 'txn/k' } }],
      });
    const ok = await ctlJson<TxnResult>(ep, 'txn', '--spec', spec('v1'));
    expect(ok.succeeded).toBe(true);
    expect(ok.responses[0]).toMatchObject({ op: 'put' });
    expect(ok.responses[1]).toMatchObject({ op: 'get', kvs: [{ value: 'v2' }] });

    const failed = await ctl(ep, 'txn', '--spec', spec('v1'));
    expect(failed.code).toBe(3);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      succeeded: false,
      responses: [{ op: 'get', kvs: [{ value: 'v2' }] }],
    });
  });

  it('reads the transaction from stdin and rejects unknown fields as a usage error', async () => {
    const doc = {
      compare: [{ key: 'txn/new', target: 'create', result: '=', value: 0 }],
      success: [{ put: { key: 'txn/new', value: 'x' } }],
    };
    const viaStdin = await runCtl(['--endpoints', ep.join(','), '--output', 'json', 'txn'], {
      stdin: JSON.stringify(doc),
    });
    expect(viaStdin.code).toBe(0);
    expect(JSON.parse(viaStdin.stdout).succeeded).toBe(true);

    const bad = await ctl(ep, 'txn', '--spec', JSON.stringify({ ...doc, sucess: [] }));
    expect(bad.code).toBe(2);
    expect(ctlError(bad).message).toMatch(/unknown field\(s\) sucess/);
    const notJson = await ctl(ep, 'txn', '--spec', '{compare:');
    expect(notJson.code).toBe(2);
  });

  it('compare-and-swap writes only when the expected value (or absence) holds', async () => {
    const created = await ctlJson<{ succeeded: boolean }>(ep, 'cas', 'cas/k', 'first', '--expect-absent');
    expect(created.succeeded).toBe(true);
    const again = await ctl(ep, 'cas', 'cas/k', 'second', '--expect-absent');
    expect(again.code).toBe(3);
    expect(JSON.parse(again.stdout)).toMatchObject({ succeeded: false, current: { value: 'first' } });
    const swapped = await ctlJson<{ succeeded: boolean }>(ep, 'cas', 'cas/k', 'second', '--expect', 'first');
    expect(swapped.succeeded).toBe(true);
    const stale = await ctl(ep, 'cas', 'cas/k', 'third', '--expect', 'first');
    expect(stale.code).toBe(3);
    expect((await ctlJson<GetResult>(ep, 'get', 'cas/k')).kvs[0]?.value).toBe('second');
  });

  it('compacts history so older revisions can no longer be read', async () => {
    const a = await ctlJson<{ revision: number }>(ep, 'put', 'cmp/k', 'old');
    const b = await ctlJson<{ revision: number }>(ep, 'put', 'cmp/k', 'new');
    expect((await ctlJson<GetResult>(ep, 'get', 'cmp/k', '--rev', String(a.revision))).kvs[0]?.value).toBe(
      'old',
    );
    const res = await ctlJson<{ compactedTo: number }>(ep, 'compact', String(b.revision), '--physical');
    expect(res.compactedTo).toBe(b.revision);
    const gone = await ctl(ep, 'get', 'cmp/k', '--rev', String(a.revision));
    expect(gone.code).toBe(1);
    expect(ctlError(gone).message).toMatch(/compacted/);
  });
});

describe('ctl watch', () => {
  it('prints puts and deletes under a prefix as they happen, then stops after --max-events', async () => {
    // Starting at the next revision means no event is lost however late the watch registers.
    const { revision } = await ctlJson<GetResult>(ep, 'get', 'w/', '--prefix');
    const watching = ctl(
      ep,
      'watch',
      'w/',
      '--prefix',
      '--rev',
      String(revision + 1),
      '--max-events',
      '3',
      '--timeout',
      '30',
      '--prev-kv',
    );
    await ctlJson(ep, 'put', 'w/a', '1');
    await ctlJson(ep, 'put', 'w/a', '2');
    await ctlJson(ep, 'del', 'w/a');
    const run = await watching;
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as WatchEvent);
    expect(events.map((e) => [e.type, e.kv.key, e.kv.value])).toEqual([
      ['PUT', 'w/a', '1'],
      ['PUT', 'w/a', '2'],
      ['DELETE', 'w/a', ''],
    ]);
    expect(events[1]?.prevKv?.value).toBe('1');
  });

  it('replays history from --rev', async () => {
    const start = await ctlJson<{ revision: number }>(ep, 'put', 'wr/k', 'a');
    await ctlJson(ep, 'put', 'wr/k', 'b');
    const run = await ctl(
      ep,
      'watch',
      'wr/k',
      '--rev',
      String(start.revision),
      '--max-events',
      '2',
      '--timeout',
      '30',
    );
    expect(run.code).toBe(0);
    expect(
      run.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as WatchEvent).kv.value),
    ).toEqual(['a', 'b']);
  });
});

describe('ctl lease', () => {
  it('grants, attaches keys, reports TTL, keeps alive and revokes (deleting its keys)', async () => {
    const lease = await ctlJson<LeaseInfo>(ep, 'lease', 'grant', '60');
    expect(lease.id).toMatch(/^[0-9a-f]+$/);
    expect(lease.ttl).toBe(60);
    await ctlJson(ep, 'put', 'lease/k', 'v', '--lease', lease.id);
    expect((await ctlJson<GetResult>(ep, 'get', 'lease/k')).kvs[0]?.lease).toBe(lease.id);

    const ttl = await ctlJson<LeaseInfo>(ep, 'lease', 'timetolive', lease.id, '--keys');
    expect(ttl).toMatchObject({ id: lease.id, grantedTtl: 60, keys: ['lease/k'] });
    expect(ttl.ttl).toBeGreaterThan(0);

    const once = await ctl(ep, 'lease', 'keep-alive', lease.id, '--once');
    expect(once.code).toBe(0);
    expect(JSON.parse(once.stdout.trim())).toMatchObject({ id: lease.id, ttl: 60 });

    const revoked = await ctlJson<{ id: string }>(ep, 'lease', 'revoke', lease.id);
    expect(revoked.id).toBe(lease.id);
    expect((await ctl(ep, 'get', 'lease/k')).code).toBe(3);
    expect((await ctl(ep, 'lease', 'timetolive', lease.id)).code).toBe(3);
    expect((await ctl(ep, 'lease', 'keep-alive', lease.id, '--once')).code).toBe(3);
    expect((await ctl(ep, 'lease', 'revoke', lease.id)).code).toBe(3);
  });

  it('keeps a short lease alive past its TTL until --timeout', async () => {
    const lease = await ctlJson<LeaseInfo>(ep, 'lease', 'grant', '3');
    const run = await ctl(ep, 'lease', 'keep-alive', lease.id, '--timeout', '5');
    expect(run.code).toBe(0);
    const renewals = run.stdout.trim().split('\n');
    // Renewed every TTL/3 = 1 s for 5 s, so well past the 3 s TTL.
    expect(renewals.length).toBeGreaterThanOrEqual(3);
    expect((await ctlJson<LeaseInfo>(ep, 'lease', 'timetolive', lease.id)).ttl).toBeGreaterThan(0);
  });

  it('rejects a non-hex lease ID as a usage error', async () => {
    const run = await ctl(ep, 'lease', 'revoke', 'not-hex');
    expect(run.code).toBe(2);
  });
});
