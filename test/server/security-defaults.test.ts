import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAlertmanager, type RunningAlertmanager } from '../support/alertmanager.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { waitFor } from '../../harness/processes.js';
import { startApiServer, type ApiServer } from './security-support.js';

// Safe HTTP defaults of issue 11, against the real exporter process (`src/cli.ts serve`) over HTTP.

const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const OPERATOR_TOKEN = 'operator-token-0123456789abcdef';
const GRAFANA = 'https://grafana.example';
const BENCH = '/api/v1/performance/benchmark';

let dir: string;
let cluster: EtcdCluster;
/** No web config, no --web.enable-benchmark-api: the defaults. */
let plain: ExporterProcess;
/** No web config, benchmark API on, one CORS origin: only the Origin and Content-Type checks stand guard. */
let openBench: ExporterProcess;
/** Users and tokens, benchmark API on. */
let authed: ExporterProcess;
/** Users and tokens, benchmark API off. */
let authedOff: ExporterProcess;

function webConfig(): string {
  writeFileSync(path.join(dir, 'viewer.token'), `${VIEWER_TOKEN}\n`);
  writeFileSync(path.join(dir, 'operator.token'), `${OPERATOR_TOKEN}\n`);
  const file = path.join(dir, 'web.yml');
  writeFileSync(
    file,
    [
      'basic_auth_users:',
      `  bob: ${bcrypt.hashSync('bob-password', 4)}`,
      'etcd_monitor:',
      '  tokens:',
      '    - {name: dash, token_file: viewer.token, role: viewer}',
      '    - {name: alertmanager, token_file: operator.token, role: operator}',
      '',
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'security-defaults-'));
  const web = webConfig();
  cluster = await startCluster({ size: 1 });
  const endpoints = ['--endpoints', cluster.endpoints.join(',')];
  [plain, openBench, authed, authedOff] = await Promise.all([
    startExporter({ args: endpoints }),
    startExporter({ args: [...endpoints, '--web.enable-benchmark-api', '--cors-origin', GRAFANA] }),
    startExporter({ args: [...endpoints, '--web.config.file', web, '--web.enable-benchmark-api'] }),
    startExporter({ args: [...endpoints, '--web.config.file', web] }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([plain, openBench, authed, authedOff].map((e) => e?.stop()));
  await cluster?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  text: string;
  headers: Headers;
  error?: { code: string; message: string };
}

async function call(
  exporter: ExporterProcess,
  p: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const res = await fetch(`${exporter.url}${p}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const answer: Answer = { status: res.status, text, headers: res.headers };
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
    const body = JSON.parse(text) as { error?: { code: string; message: string } };
    if (body.error) answer.error = body.error;
  }
  return answer;
}

/** A refusal in the API's one error shape, without a stack trace. */
function expectRefused(a: Answer, status: number, code: string): void {
  expect(a.status, a.text.slice(0, 300)).toBe(status);
  expect(a.error?.code).toBe(code);
  expect(a.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('benchmark API is off unless --web.enable-benchmark-api', () => {
  it('answers 403 BENCHMARK_API_DISABLED naming the flag, for reads and writes', async () => {
    for (const init of [
      {},
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"write"}' },
    ]) {
      // Express matches paths case-insensitively: so does the gate.
      for (const p of [BENCH, `${BENCH}/some-id`, '/API/V1/Performance/Benchmark']) {
        const a = await call(plain, p, init);
        expectRefused(a, 403, 'BENCHMARK_API_DISABLED');
        expect(a.error?.message).toContain('--web.enable-benchmark-api');
      }
    }
  });

  it('with auth configured: anonymous callers get 401 first, an operator gets BENCHMARK_API_DISABLED', async () => {
    const anonymous = await call(authedOff, BENCH);
    expectRefused(anonymous, 401, 'UNAUTHENTICATED');
    expectRefused(
      await call(authedOff, BENCH, { headers: bearer(OPERATOR_TOKEN) }),
      403,
      'BENCHMARK_API_DISABLED',
    );
  });
});

describe('cross-site and non-JSON mutations are refused', () => {
  const post = (headers: Record<string, string>, body?: string, p = BENCH) =>
    call(openBench, p, { method: 'POST', headers, ...(body !== undefined ? { body } : {}) });

  it('a cross-site HTML form POST (urlencoded or multipart) gets 403 ORIGIN_NOT_ALLOWED', async () => {
    const form = { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' };
    expectRefused(await post(form, 'type=write&ops=10'), 403, 'ORIGIN_NOT_ALLOWED');
    const multipart = {
      origin: 'https://evil.example',
      'content-type': 'multipart/form-data; boundary=x',
    };
    expectRefused(
      await post(multipart, '--x\r\nContent-Disposition: form-data; name="type"\r\n\r\nwrite\r\n--x--\r\n'),
      403,
      'ORIGIN_NOT_ALLOWED',
    );
    // Even JSON from a page whose origin is not in --cors-origin (it would have needed a preflight).
    const json = { origin: 'https://evil.example', 'content-type': 'application/json' };
    expectRefused(await post(json, '{"type":"write"}'), 403, 'ORIGIN_NOT_ALLOWED');
    // Sandboxed iframes and file:// pages send "Origin: null".
    expectRefused(await post({ ...json, origin: 'null' }, '{}'), 403, 'ORIGIN_NOT_ALLOWED');
  });

  it('text/plain, form and bodyless POSTs get 415 even from an allowed origin or without one', async () => {
    const cases: [Record<string, string>, string | undefined][] = [
      [{ 'content-type': 'text/plain;charset=UTF-8' }, '{"type":"write","ops":10}'],
      [{ origin: GRAFANA, 'content-type': 'text/plain' }, '{"type":"write","ops":10}'],
      [{ origin: GRAFANA, 'content-type': 'application/x-www-form-urlencoded' }, 'type=write'],
      [{}, undefined],
    ];
    for (const [headers, body] of cases) {
      const a = await post(headers, body);
      expectRefused(a, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(a.error?.message).toContain('application/json');
    }
  });

  it('the Alertmanager webhook is guarded the same way', async () => {
    const hook = '/api/v1/alerts/webhook';
    expectRefused(await post({ 'content-type': 'text/plain' }, '{}', hook), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectRefused(
      await post({ origin: 'https://evil.example', 'content-type': 'application/json' }, '{}', hook),
      403,
      'ORIGIN_NOT_ALLOWED',
    );
  });

  it('JSON from an allowed origin or from a non-browser client passes the guard; nothing was started', async () => {
    const fromGrafana = await post({ origin: GRAFANA, 'content-type': 'application/json' }, '{"opz":1}');
    expectRefused(fromGrafana, 400, 'UNKNOWN_FIELD');
    const fromCurl = await post({ 'content-type': 'application/json; charset=utf-8' }, '{"type":"nope"}');
    expectRefused(fromCurl, 400, 'INVALID_TYPE');
    const list = await call(openBench, BENCH);
    expect(list.status).toBe(200);
    expect(JSON.parse(list.text)).toEqual({ running: null, comparison: [] });
  });
});

describe('with users or tokens configured everything but /health and /ready needs credentials', () => {
  it('/health and /ready stay open', async () => {
    for (const p of ['/health', '/ready']) expect((await call(authed, p)).status).toBe(200);
  });

  it('the landing page and /metrics answer 401 with a challenge, and 200 with credentials', async () => {
    for (const p of ['/', '/metrics', '/api/v1/cluster/status', '/no/such/page']) {
      const a = await call(authed, p);
      expectRefused(a, 401, 'UNAUTHENTICATED');
      expect(a.headers.get('www-authenticate')).toMatch(/^Basic realm="etcd-monitor"/);
    }
    const page = await call(authed, '/', { headers: bearer(VIEWER_TOKEN) });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<h1>etcd-monitor');
    const basic = `Basic ${Buffer.from('bob:bob-password').toString('base64')}`;
    const metrics = await call(authed, '/metrics', { headers: { authorization: basic } });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('etcd_monitor_');
  });

  it('the benchmark API needs operator: a viewer gets 403, an operator reaches validation', async () => {
    const json = { 'content-type': 'application/json' };
    expectRefused(await call(authed, BENCH, { headers: bearer(VIEWER_TOKEN) }), 403, 'FORBIDDEN');
    expectRefused(
      await call(authed, BENCH, {
        method: 'POST',
        headers: { ...json, ...bearer(VIEWER_TOKEN) },
        body: '{}',
      }),
      403,
      'FORBIDDEN',
    );
    expectRefused(
      await call(authed, BENCH, {
        method: 'POST',
        headers: { ...json, ...bearer(OPERATOR_TOKEN) },
        body: '{"ops": 0}',
      }),
      400,
      'INVALID_FIELD',
    );
    expect((await call(authed, BENCH, { headers: bearer(OPERATOR_TOKEN) })).status).toBe(200);
  });
});

describe('Alertmanager posts to the webhook with its own http_config', () => {
  let am: RunningAlertmanager | undefined;
  afterAll(async () => am?.stop());

  it('a real Alertmanager with a bearer token of the operator role gets its notification recorded', async () => {
    am = await startAlertmanager({
      configYaml: [
        'route:',
        '  receiver: exporter',
        '  group_wait: 1s',
        '  group_interval: 1s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: exporter',
        '    webhook_configs:',
        `      - url: ${authed.url}/api/v1/alerts/webhook`,
        '        http_config:',
        '          authorization:',
        '            type: Bearer',
        `            credentials_file: ${path.join(dir, 'operator.token')}`,
        '',
      ].join('\n'),
    });
    await am.postAlerts([
      { labels: { alertname: 'SecurityDefaultsProbe', severity: 'warning', cluster: 'default' } },
    ]);
    const history = await waitFor(
      async () => {
        const a = await call(authed, '/api/v1/alerts/history', { headers: bearer(VIEWER_TOKEN) });
        return a.status === 200 && a.text.includes('SecurityDefaultsProbe') ? a : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the notification to reach the exporter' },
    );
    expect(history.status).toBe(200);
    // The same payload with a viewer token is refused: the webhook needs operator.
    const asViewer = await call(authed, '/api/v1/alerts/webhook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(VIEWER_TOKEN) },
      body: '{}',
    });
    expectRefused(asViewer, 403, 'FORBIDDEN');
  }, 60_000);
});

describe('bcrypt is spent only where it must be (in-process HTTP stack, counters observed)', () => {
  let api: ApiServer;
  beforeAll(async () => {
    api = await startApiServer({ endpoints: cluster.endpoints, webConfigFile: path.join(dir, 'web.yml') });
  }, 60_000);
  afterAll(() => api?.close());

  const get = async (p: string, authorization?: string) => {
    const res = await fetch(`${api.url}${p}`, { headers: authorization ? { authorization } : {} });
    await res.text();
    return res.status;
  };
  const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

  it('open paths never look at credentials; unknown users cost a comparison against the stand-in hash', async () => {
    expect(await get('/health', basic('bob', 'random-1'))).toBe(200);
    expect(await get('/ready', basic('nobody', 'random-2'))).toBe(200);
    expect(api.security.authStats()).toMatchObject({ bcryptCompares: 0, dummyCompares: 0 });

    expect(await get('/metrics', basic('nobody', 'random-3'))).toBe(401);
    expect(await get('/metrics', basic('somebody-else', 'bob-password'))).toBe(401);
    expect(api.security.authStats()).toMatchObject({ bcryptCompares: 0, dummyCompares: 2 });

    expect(await get('/metrics', basic('bob', 'wrong'))).toBe(401);
    for (let i = 0; i < 3; i++) expect(await get('/metrics', basic('bob', 'bob-password'))).toBe(200);
    expect(api.security.authStats()).toMatchObject({ bcryptCompares: 2, dummyCompares: 2, cacheHits: 2 });
  });
});
