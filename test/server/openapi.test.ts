import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENAPI_DOCUMENT } from '../../src/server/openapi.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { waitFor } from '../../harness/processes.js';
import { startApiServer, type ApiServer } from './security-support.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const WEBHOOK = readFileSync(
  path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25/webhook-firing-critical.json'),
  'utf8',
);

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(OPENAPI_DOCUMENT as unknown as object, 'openapi.json');

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
};
const doc = OPENAPI_DOCUMENT as unknown as Doc;
const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** Which documented path template a concrete path belongs to. */
function templateOf(p: string): string {
  for (const t of Object.keys(doc.paths)) {
    const re = new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(p)) return t;
  }
  throw new Error(`undocumented path ${p}`);
}

const exercised = new Map<string, Set<string>>();

interface Call {
  method?: 'GET' | 'POST';
  path: string;
  body?: string;
  contentType?: string;
  status: number;
}

let cluster: EtcdCluster;
let prometheus: RunningPrometheus;
let api: ApiServer;
let noPrometheus: ApiServer;

/** Calls the API and checks status, content type and body against the document's schema for that response. */
async function check(target: ApiServer, call: Call): Promise<unknown> {
  const method = call.method ?? 'GET';
  const res = await fetch(`${target.url}${call.path}`, {
    method,
    ...(call.body !== undefined
      ? { body: call.body, headers: { 'content-type': call.contentType ?? 'application/json' } }
      : {}),
  });
  const text = await res.text();
  expect(res.status, `${method} ${call.path}: ${text.slice(0, 300)}`).toBe(call.status);
  const template = templateOf(new URL(call.path, 'http://x').pathname);
  const op = doc.paths[template]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is documented`).toBeDefined();
  const response = op?.responses[String(call.status)];
  expect(response, `${method} ${template} documents status ${call.status}`).toBeDefined();
  const key = `${method} ${template}`;
  exercised.set(key, (exercised.get(key) ?? new Set()).add(String(call.status)));
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('text/plain')) {
    expect(Object.keys(response?.content ?? {})).toContain('text/plain');
    return text;
  }
  expect(type, `${key} ${call.status} answers JSON`).toMatch(/^application\/json/);
  const body = JSON.parse(text) as unknown;
  const validate = ajv.getSchema(
    `openapi.json#/${pointer('paths', template, method.toLowerCase(), 'responses', String(call.status), 'content', 'application/json', 'schema')}`,
  );
  expect(validate, 'schema compiles').toBeDefined();
  const valid = validate?.(body);
  expect(
    valid,
    `${key} ${call.status} body ${text.slice(0, 400)} violates the document: ${ajv.errorsText(validate?.errors)}`,
  ).toBe(true);
  // No stack traces or internals ever reach a client.
  expect(text).not.toMatch(/\n\s+at |node_modules/);
  return body;
}

beforeAll(async () => {
  cluster = await startCluster({ size: 3 });
  // Prometheus must know the exporter's port before it starts; the API server picks a free one and Prometheus
  // is pointed at it right after.
  noPrometheus = await startApiServer({ endpoints: cluster.endpoints });
  const promless = new URL(noPrometheus.url);
  prometheus = await startPrometheus({ scrapeTargets: [promless.host], interval: '1s' });
  api = await startApiServer({
    endpoints: cluster.endpoints,
    prometheusUrl: prometheus.url,
    enableBenchmarkApi: true,
  });
  await waitFor(async () => (await prometheus.query('etcd_monitor_cluster_members_healthy')).length > 0, {
    timeoutMs: 30_000,
    intervalMs: 500,
    what: 'Prometheus to have scraped the exporter',
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await noPrometheus?.close();
  await prometheus?.stop();
  await cluster?.destroy();
});

describe('every endpoint answers as the OpenAPI document says', () => {
  it('serves the document itself', async () => {
    const body = (await check(api, { path: '/api/v1/openapi.json', status: 200 })) as { openapi: string };
    expect(body.openapi).toBe('3.1.0');
  });

  it('probe and metrics endpoints', async () => {
    await check(api, { path: '/health', status: 200 });
    await check(api, { path: '/ready', status: 200 });
    const text = (await check(api, { path: '/metrics', status: 200 })) as string;
    expect(text).toContain('etcd_monitor_cluster_members_healthy{cluster="main"} 3');
  });

  it('cluster, leader, members, current metrics and latency, plus their errors', async () => {
    const status = (await check(api, { path: '/api/v1/cluster/status', status: 200 })) as {
      member_count: number;
      healthy: boolean;
    };
    expect(status).toMatchObject({ member_count: 3, healthy: true });
    await check(api, { path: '/api/v1/clusters', status: 200 });
    await check(api, { path: '/api/v1/cluster/leader?cluster=main', status: 200 });
    const members = (await check(api, { path: '/api/v1/cluster/members', status: 200 })) as {
      members: unknown[];
    };
    expect(members.members).toHaveLength(3);
    await check(api, { path: '/api/v1/metrics/current', status: 200 });
    await check(api, { path: '/api/v1/metrics/latency', status: 200 });
    for (const p of [
      '/api/v1/cluster/status',
      '/api/v1/cluster/leader',
      '/api/v1/cluster/members',
      '/api/v1/metrics/current',
      '/api/v1/metrics/latency',
    ]) {
      await check(api, { path: `${p}?cluster=nope`, status: 404 });
      await check(api, { path: `${p}?cluster=a&cluster=b`, status: 400 });
    }
  });

  it('metrics history from Prometheus, its parameter errors, and 503 without --prometheus-url', async () => {
    // Sub-second end: the newest sample may be younger than the last whole second.
    const end = Number((Date.now() / 1000).toFixed(3));
    const body = (await check(api, {
      path: `/api/v1/metrics/history?metric=members_healthy&cluster=main&start=${end - 120}&end=${end}&step=1s`,
      status: 200,
    })) as { series: { cluster: string; points: [number, number][] }[] };
    expect(body.series, JSON.stringify(body)).toHaveLength(1);
    expect(body.series[0]?.cluster).toBe('main');
    expect(body.series[0]?.points.at(-1)?.[1]).toBe(3);
    await check(api, { path: '/api/v1/metrics/history?metric=read_latency_p99', status: 200 });
    await check(api, { path: '/api/v1/metrics/history?metric=nope', status: 400 });
    await check(api, { path: '/api/v1/metrics/history', status: 400 });
    await check(api, { path: '/api/v1/metrics/history?metric=db_size&step=0.1s', status: 400 });
    await check(api, {
      path: '/api/v1/metrics/history?metric=db_size&start=0&end=1000000&step=1s',
      status: 400,
    });
    await check(api, { path: '/api/v1/metrics/history?metric=db_size&start=yesterday', status: 400 });
    await check(api, { path: '/api/v1/metrics/history?metric=db_size&foo=1', status: 400 });
    const unavailable = (await check(noPrometheus, {
      path: '/api/v1/metrics/history?metric=db_size',
      status: 503,
    })) as {
      error: { code: string };
    };
    expect(unavailable.error.code).toBe('HISTORY_UNAVAILABLE');
  });

  it('leader history: a page of changes, bad paging and an unknown cluster', async () => {
    const page = (await check(api, { path: '/api/v1/cluster/leader/history?limit=10', status: 200 })) as {
      cluster: string;
      changes: unknown[];
    };
    // A fresh exporter has seen no change (its first observation is not one).
    expect(page).toMatchObject({ cluster: 'main', changes: [] });
    await check(api, { path: '/api/v1/cluster/leader/history?before=0', status: 400 });
    await check(api, { path: '/api/v1/cluster/leader/history?cluster=nope', status: 404 });
  });

  it('alerts: webhook, firing alerts, history and bad input', async () => {
    const rec = (await check(api, {
      method: 'POST',
      path: '/api/v1/alerts/webhook',
      body: WEBHOOK,
      status: 200,
    })) as { recorded: number };
    expect(rec.recorded).toBe(1);
    const firing = (await check(api, { path: '/api/v1/alerts', status: 200 })) as { count: number };
    expect(firing.count).toBe(1);
    await check(api, { path: '/api/v1/alerts/history?limit=5', status: 200 });
    await check(api, { path: '/api/v1/alerts/history?limit=0', status: 400 });
    await check(api, { path: '/api/v1/alerts?cluster=', status: 400 });
    await check(api, { method: 'POST', path: '/api/v1/alerts/webhook', body: '{"receiver": ', status: 400 });
    await check(api, {
      method: 'POST',
      path: '/api/v1/alerts/webhook',
      body: '{"receiver": "x"}',
      status: 400,
    });
    await check(api, {
      method: 'POST',
      path: '/api/v1/alerts/webhook',
      body: 'x',
      contentType: 'text/plain',
      status: 415,
    });
    await check(api, {
      method: 'POST',
      path: '/api/v1/alerts/webhook',
      body: `{"pad":"${'x'.repeat(6 * 1024 * 1024)}"}`,
      status: 413,
    });
  });

  it('benchmark: start, poll to completion, list, and bad input', async () => {
    await check(api, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: '{"ops": 1e9}',
      status: 400,
    });
    await check(api, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: '{"opz": 5}',
      status: 400,
    });
    await check(api, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: '{"ops": ',
      status: 400,
    });
    await check(api, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: '{"cluster": "nope"}',
      status: 404,
    });
    await check(api, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: `{"type":"${'w'.repeat(5000)}"}`,
      status: 413,
    });
    const started = (await check(api, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: JSON.stringify({ type: 'write', ops: 200, clients: 2, conns: 1 }),
      status: 202,
    })) as { id: string };
    await check(api, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: '{"ops": 10}',
      status: 409,
    });
    await check(api, { path: `/api/v1/performance/benchmark/${started.id}`, status: 200 });
    const done = await waitFor(
      async () => {
        const run = (await check(api, {
          path: `/api/v1/performance/benchmark/${started.id}`,
          status: 200,
        })) as { status: string };
        return run.status === 'running' ? undefined : run;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the benchmark to finish' },
    );
    expect(done).toMatchObject({ status: 'completed', result: { total: 200, failed: 0 } });
    await check(api, { path: '/api/v1/performance/benchmark', status: 200 });
    await check(api, { path: '/api/v1/performance/benchmark/does-not-exist', status: 404 });
    // Off without --web.enable-benchmark-api.
    await check(noPrometheus, { path: '/api/v1/performance/benchmark', status: 403 });
    await check(noPrometheus, {
      method: 'POST',
      path: '/api/v1/performance/benchmark',
      body: '{}',
      status: 403,
    });
  });

  it('every documented operation was exercised with at least one success status', () => {
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const m of Object.keys(methods)) {
        const seen = exercised.get(`${m.toUpperCase()} ${p}`);
        expect(seen, `${m.toUpperCase()} ${p} was never called`).toBeDefined();
        expect(
          [...(seen ?? [])].some((s) => s.startsWith('2')),
          `${m.toUpperCase()} ${p} never succeeded`,
        ).toBe(true);
      }
    }
  });
});
