import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULTS_FILE } from '../../src/loadgen/store.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { waitFor } from '../../harness/processes.js';
import { startBenchApi, type BenchApi } from './bench-api.js';

describe('benchmark REST API', () => {
  let cluster: EtcdCluster;
  let api: BenchApi | undefined;
  let base: string;
  let dataDir: string;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    api = await startBenchApi(cluster.endpoints, 'bench-api-');
    ({ base, dataDir } = api);
  });
  afterAll(async () => {
    await api?.close();
    await cluster?.destroy();
  });

  const post = (body: unknown) =>
    fetch(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it.each([
    [{ type: 'scan' }, 400, 'INVALID_TYPE'],
    [{ type: 'write', ops: 100_001 }, 400, 'LIMIT_EXCEEDED'],
    [{ type: 'write', durationSeconds: 3600 }, 400, 'LIMIT_EXCEEDED'],
    [{ type: 'read', clients: 0 }, 400, 'INVALID_FIELD'],
    [{ type: 'read', consistency: 'x' }, 400, 'INVALID_FIELD'],
    [{ type: 'write', conns: 9, clients: 4 }, 400, 'INVALID_FIELD'],
    [{ type: 'write', path: '/' }, 400, 'UNKNOWN_FIELD'],
    [{ type: 'write', prefix: '' }, 400, 'INVALID_FIELD'],
    [[1, 2], 400, 'INVALID_BODY'],
    ['{"type":', 400, 'MALFORMED_JSON'],
    [{ type: 'write', cluster: 'nope' }, 404, 'UNKNOWN_CLUSTER'],
  ])('rejects %j with %i %s as a JSON error', async (body, status, code) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe(code);
    expect(json.error.message).toBeTruthy();
  });

  it('runs one benchmark at a time (409 while busy), then serves and persists the result', async () => {
    const first = await post({ type: 'mixed', ops: 4000, clients: 16, conns: 4, keySpace: 500 });
    expect(first.status).toBe(202);
    const { id, status } = (await first.json()) as { id: string; status: string };
    expect(status).toBe('running');
    expect(first.headers.get('location')).toBe(`/api/v1/performance/benchmark/${id}`);

    const busy = await post({ type: 'write', ops: 10 });
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { error: { code: string } }).error.code).toBe('BENCHMARK_BUSY');

    const done = await waitFor(
      async () => {
        const body = (await (await fetch(`${base}/${id}`)).json()) as { status: string };
        return body.status === 'running' ? undefined : body;
      },
      { timeoutMs: 60_000, what: 'benchmark to finish' },
    );
    const run = done as {
      status: string;
      result: { type: string; total: number; successful: number; cleanup: { prefix: string } };
    };
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ type: 'mixed', total: 4000, successful: 4000 });
    expect(run.result.cleanup.prefix).toBe(`/etcd-monitor/bench/${id}/`);

    const lines = (await readFile(path.join(dataDir, RESULTS_FILE), 'utf8')).trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ id, status: 'completed' });

    // A second run of the same workload is compared against the first.
    const second = (await (
      await post({ type: 'mixed', ops: 2000, clients: 8, conns: 2, keySpace: 200 })
    ).json()) as { id: string };
    await waitFor(
      async () =>
        ((await (await fetch(`${base}/${second.id}`)).json()) as { status: string }).status !== 'running' ||
        undefined,
      {
        timeoutMs: 60_000,
        what: 'second benchmark',
      },
    );
    const list = (await (await fetch(base)).json()) as {
      running: unknown;
      comparison: { id: string; throughputChange: number | null }[];
    };
    expect(list.running).toBeNull();
    expect(list.comparison.map((c) => c.id)).toEqual([id, second.id]);
    expect(list.comparison[0]!.throughputChange).toBeNull();
    expect(typeof list.comparison[1]!.throughputChange).toBe('number');
  });

  it('compacts only on an explicit "compact": true, and the result says at which revision', async () => {
    const admin = new Etcd3({ hosts: cluster.endpoints });
    try {
      const old = Number((await admin.put('/api-test/user').value('v1').exec()).header.revision);
      await admin.put('/api-test/user').value('v2');
      const wait = async (id: string) =>
        await waitFor(
          async () => {
            const body = (await (await fetch(`${base}/${id}`)).json()) as {
              status: string;
              result: { cleanup: { compactedRevision: number | null } };
            };
            return body.status === 'running' ? undefined : body;
          },
          { timeoutMs: 60_000, what: 'benchmark to finish' },
        );
      const plain = (await (await post({ type: 'write', ops: 100, clients: 4, conns: 1 })).json()) as {
        id: string;
      };
      expect((await wait(plain.id)).result.cleanup.compactedRevision).toBeNull();
      expect(await admin.get('/api-test/user').revision(old).string()).toBe('v1');
      const compacting = (await (
        await post({ type: 'write', ops: 100, clients: 4, conns: 1, compact: true })
      ).json()) as { id: string };
      expect((await wait(compacting.id)).result.cleanup.compactedRevision).toBeGreaterThan(old);
      await expect(admin.get('/api-test/user').revision(old).string()).rejects.toThrow(/compacted/);
    } finally {
      admin.close();
    }
  });

  it('404 JSON for an unknown id', async () => {
    const res = await fetch(`${base}/does-not-exist`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_BENCHMARK');
  });
});
