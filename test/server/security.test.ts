import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import express from 'express';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundPort, createHttpSecurity, loadWebConfig } from '../../src/server/security/index.js';
import { createLogger } from '../../src/util/logger.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { generateTlsMaterial, type TlsMaterial } from '../../harness/tls.js';
import { startApiServer, type ApiServer } from './security-support.js';

const WEBHOOK = readFileSync(
  path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25/webhook-firing-critical.json'),
  'utf8',
);
const TOKENS = {
  viewer: 'viewer-token-0123456789abcdef',
  operator: 'operator-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
};
const PASSWORDS = { alice: 'alice-password', bob: 'bob-password' };

let tmp: string;
let cluster: EtcdCluster;

const basic = (user: string, pw: string): string =>
  `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

async function writeConfig(name: string, text: string): Promise<string> {
  const file = path.join(tmp, name);
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'security-test-'));
  for (const [role, token] of Object.entries(TOKENS))
    await writeFile(path.join(tmp, `${role}.token`), `${token}\n`);
  cluster = await startCluster({ size: 1 });
}, 120_000);
afterAll(async () => {
  await cluster?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function authConfig(metricsAuth: boolean): string {
  return [
    'basic_auth_users:',
    `  alice: ${bcrypt.hashSync(PASSWORDS.alice, 10)}`,
    `  bob: ${bcrypt.hashSync(PASSWORDS.bob, 10)}`,
    'etcd_monitor:',
    `  metrics_auth: ${metricsAuth}`,
    '  basic_auth_roles: {alice: admin}',
    '  tokens:',
    ...Object.keys(TOKENS).map(
      (role) => `    - {name: ${role}-ci, token_file: ${role}.token, role: ${role}}`,
    ),
    '',
  ].join('\n');
}

describe('web config file', () => {
  it('loads exporter-toolkit keys plus the etcd_monitor section, resolving files relative to the config', async () => {
    const file = await writeConfig('web.yml', authConfig(true));
    const config = loadWebConfig(file);
    expect([...config.basicAuthUsers.keys()]).toEqual(['alice', 'bob']);
    expect(config.userRoles.get('alice')).toBe('admin');
    expect(config.tokens.map((t) => [t.name, t.role, t.token])).toEqual([
      ['viewer-ci', 'viewer', TOKENS.viewer],
      ['operator-ci', 'operator', TOKENS.operator],
      ['admin-ci', 'admin', TOKENS.admin],
    ]);
    expect(config.metricsAuth).toBe(true);
  });

  it.each([
    ['an unknown top-level key', 'basic_auth_user:\n  x: y\n', /unknown field\(s\): basic_auth_user/],
    [
      'a plaintext password instead of a hash',
      'basic_auth_users:\n  x: hunter2hunter2\n',
      /must be a bcrypt hash/,
    ],
    [
      'a token file that is missing',
      'etcd_monitor:\n  tokens: [{name: a, token_file: nope.token, role: viewer}]\n',
      /cannot read/,
    ],
    [
      'an unknown role',
      'etcd_monitor:\n  tokens: [{name: a, token_file: viewer.token, role: root}]\n',
      /must be one of viewer, operator, admin/,
    ],
    [
      'client verification without a CA',
      'tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert}\n',
      /client_ca_file: is required/,
    ],
    [
      'a role for an unknown user',
      'etcd_monitor:\n  basic_auth_roles: {ghost: admin}\n',
      /not in basic_auth_users/,
    ],
  ])('rejects %s', async (_what, text, message) => {
    const file = await writeConfig('bad.yml', text);
    expect(() => loadWebConfig(file)).toThrow(message);
    try {
      loadWebConfig(file);
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('rejects a token shorter than 16 characters', async () => {
    await writeFile(path.join(tmp, 'short.token'), 'short');
    const file = await writeConfig(
      'short.yml',
      'etcd_monitor:\n  tokens: [{name: a, token_file: short.token, role: viewer}]\n',
    );
    expect(() => loadWebConfig(file)).toThrow(/shorter than 16/);
  });
});

describe('auth matrix: role × endpoint on the real API', () => {
  let api: ApiServer;
  let metricsLocked: ApiServer;

  beforeAll(async () => {
    api = await startApiServer({
      endpoints: cluster.endpoints,
      webConfigFile: await writeConfig('open-metrics.yml', authConfig(false)),
      enableBenchmarkApi: true,
    });
    metricsLocked = await startApiServer({
      endpoints: cluster.endpoints,
      webConfigFile: await writeConfig('locked.yml', authConfig(true)),
      enableBenchmarkApi: true,
    });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await metricsLocked?.close();
  });

  const callers: Record<string, string | undefined> = {
    none: undefined,
    'wrong password': basic('alice', 'wrong'),
    'unknown user': basic('mallory', 'x'),
    'wrong token': 'Bearer not-a-valid-token-at-all',
    'bob (basic, viewer)': basic('bob', PASSWORDS.bob),
    'viewer token': `Bearer ${TOKENS.viewer}`,
    'operator token': `Bearer ${TOKENS.operator}`,
    'admin token': `Bearer ${TOKENS.admin}`,
    'alice (basic, admin)': basic('alice', PASSWORDS.alice),
  };
  const rank = (caller: string): number =>
    caller.includes('admin') ? 3 : caller.includes('operator') ? 2 : caller.includes('viewer') ? 1 : 0;

  // [method, path, body, status once authorised]; POST bodies are invalid on purpose (no benchmark really starts)
  // except the webhook, whose valid payload shows an operator gets all the way through.
  const endpoints: [string, string, string | undefined, number][] = [
    ['GET', '/api/v1/clusters', undefined, 200],
    ['GET', '/api/v1/cluster/status', undefined, 200],
    ['GET', '/api/v1/cluster/leader', undefined, 200],
    ['GET', '/api/v1/cluster/members', undefined, 200],
    ['GET', '/api/v1/metrics/current', undefined, 200],
    ['GET', '/api/v1/metrics/latency', undefined, 200],
    ['GET', '/api/v1/metrics/history?metric=db_size', undefined, 503],
    ['GET', '/api/v1/alerts', undefined, 200],
    ['GET', '/api/v1/alerts/history', undefined, 200],
    ['GET', '/api/v1/performance/benchmark', undefined, 200],
    ['GET', '/api/v1/performance/benchmark/nope', undefined, 404],
    ['GET', '/api/v1/openapi.json', undefined, 200],
    ['POST', '/api/v1/alerts/webhook', WEBHOOK, 200],
    ['POST', '/api/v1/performance/benchmark', '{"opz": 1}', 400],
  ];

  async function call(target: ApiServer, method: string, p: string, auth: string | undefined, body?: string) {
    const res = await fetch(`${target.url}${p}`, {
      method,
      headers: {
        ...(auth ? { authorization: auth } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body } : {}),
    });
    const text = await res.text();
    return { status: res.status, text, challenge: res.headers.get('www-authenticate') };
  }

  it('answers 401 without valid credentials, 403 below the needed role, and passes everyone else', async () => {
    const table: string[] = [];
    for (const [method, p, body, okStatus] of endpoints) {
      // The benchmark API writes to the cluster: all of it needs operator, reads included.
      const needed = method === 'GET' && !p.startsWith('/api/v1/performance/') ? 1 : 2;
      for (const [caller, auth] of Object.entries(callers)) {
        const r = await call(api, method, p, auth, body);
        const expected = rank(caller) === 0 ? 401 : rank(caller) < needed ? 403 : okStatus;
        table.push(`${method} ${p} as ${caller}: ${r.status}`);
        expect(r.status, `${method} ${p} as ${caller}: ${r.text.slice(0, 200)}`).toBe(expected);
        if (r.status === 401 || r.status === 403) {
          expect(JSON.parse(r.text)).toMatchObject({
            error: { code: r.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN' },
          });
        }
        if (r.status === 401) expect(r.challenge).toMatch(/^Basic realm="etcd-monitor"/);
      }
    }
    expect(table).toHaveLength(endpoints.length * Object.keys(callers).length);
  });

  it('keeps /health and /ready open, and /metrics open only with metrics_auth: false', async () => {
    for (const p of ['/health', '/ready', '/metrics'])
      expect((await call(api, 'GET', p, undefined)).status).toBe(200);
    for (const p of ['/health', '/ready'])
      expect((await call(metricsLocked, 'GET', p, undefined)).status).toBe(200);
    expect((await call(metricsLocked, 'GET', '/metrics', undefined)).status).toBe(401);
    expect((await call(metricsLocked, 'GET', '/metrics', callers['wrong token'])).status).toBe(401);
    for (const who of ['bob (basic, viewer)', 'viewer token', 'operator token', 'admin token']) {
      const r = await call(metricsLocked, 'GET', '/metrics', callers[who]);
      expect(r.status, who).toBe(200);
      expect(r.text).toContain('etcd_monitor_cluster_members');
    }
  });

  it('writes one audit record per mutating request with who, what and result, and no credentials', async () => {
    const records = api.auditRecords();
    const posts = endpoints.filter(([m]) => m === 'POST').length * Object.keys(callers).length;
    expect(records).toHaveLength(posts);
    expect(records.every((r) => r.stream === 'audit' && r.method === 'POST')).toBe(true);
    const webhook = records.filter((r) => r.path === '/api/v1/alerts/webhook');
    expect(webhook.find((r) => r.who === 'anonymous')).toMatchObject({
      status: 401,
      result: 'denied',
      auth: 'none',
    });
    expect(webhook.find((r) => r.who === 'bob')).toMatchObject({
      status: 403,
      result: 'denied',
      role: 'viewer',
      auth: 'basic',
    });
    expect(webhook.find((r) => r.who === 'operator-ci')).toMatchObject({
      status: 200,
      result: 'ok',
      role: 'operator',
      auth: 'bearer',
    });
    const bench = records.filter((r) => r.path === '/api/v1/performance/benchmark');
    expect(bench.find((r) => r.who === 'admin-ci')).toMatchObject({ status: 400, result: 'failed' });
    const all = JSON.stringify(records);
    for (const secret of [...Object.values(TOKENS), ...Object.values(PASSWORDS)])
      expect(all).not.toContain(secret);
  });
});

describe('TLS and mutual TLS from the web config', () => {
  let material: TlsMaterial;
  let foreign: TlsMaterial;

  beforeAll(async () => {
    material = await generateTlsMaterial(path.join(tmp, 'tls'), { hosts: ['127.0.0.1'] });
    foreign = await generateTlsMaterial(path.join(tmp, 'foreign'), { hosts: ['127.0.0.1'] });
  }, 60_000);

  async function serve(clientAuth: string | undefined): Promise<{ url: string; close: () => Promise<void> }> {
    const lines = [
      'tls_server_config:',
      `  cert_file: ${material.serverCertFile}`,
      `  key_file: ${material.serverKeyFile}`,
    ];
    if (clientAuth) lines.push(`  client_ca_file: ${material.caFile}`, `  client_auth_type: ${clientAuth}`);
    const security = createHttpSecurity({
      log: createLogger('silent', 'json'),
      webConfigFile: await writeConfig(`tls-${clientAuth}.yml`, `${lines.join('\n')}\n`),
    });
    const app = express();
    for (const mw of security.middleware) app.use(mw);
    app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
    const server = await security.listen(app, 0, '127.0.0.1');
    expect(security.scheme).toBe('https');
    return {
      url: `https://127.0.0.1:${boundPort(server)}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  async function get(url: string, client?: 'good' | 'foreign'): Promise<number> {
    const m = client === 'foreign' ? foreign : material;
    const dispatcher = new Agent({
      connect: {
        ca: await readFile(material.caFile),
        ...(client ? { cert: await readFile(m.clientCertFile), key: await readFile(m.clientKeyFile) } : {}),
      },
    });
    try {
      const res = await fetch(`${url}/health`, { dispatcher, signal: AbortSignal.timeout(10_000) });
      await res.text();
      return res.status;
    } finally {
      await dispatcher.close();
    }
  }

  it('serves HTTPS with a certificate the test CA verifies, and refuses plain HTTP', async () => {
    const s = await serve(undefined);
    try {
      expect(await get(s.url)).toBe(200);
      await expect(
        fetch(s.url.replace('https:', 'http:') + '/health', { signal: AbortSignal.timeout(5000) }).then(
          (r) => r.status,
        ),
      ).rejects.toThrow();
    } finally {
      await s.close();
    }
  });

  it('RequireAndVerifyClientCert: only a client certificate from the configured CA gets through', async () => {
    const s = await serve('RequireAndVerifyClientCert');
    try {
      expect(await get(s.url, 'good')).toBe(200);
      await expect(get(s.url)).rejects.toThrow();
      await expect(get(s.url, 'foreign')).rejects.toThrow();
    } finally {
      await s.close();
    }
  });

  it('VerifyClientCertIfGiven: no certificate is fine, a foreign one is not', async () => {
    const s = await serve('VerifyClientCertIfGiven');
    try {
      expect(await get(s.url)).toBe(200);
      expect(await get(s.url, 'good')).toBe(200);
      await expect(get(s.url, 'foreign')).rejects.toThrow();
    } finally {
      await s.close();
    }
  });

  it('RequireAnyClientCert: some certificate is needed, unverified', async () => {
    const s = await serve('RequireAnyClientCert');
    try {
      await expect(get(s.url)).rejects.toThrow();
      expect(await get(s.url, 'foreign')).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('reloadTls picks up a rotated certificate without a restart', async () => {
    const cert = path.join(tmp, 'rotating.crt');
    const key = path.join(tmp, 'rotating.key');
    await copyFile(material.serverCertFile, cert);
    await copyFile(material.serverKeyFile, key);
    const file = await writeConfig(
      'rotating.yml',
      `tls_server_config: {cert_file: ${cert}, key_file: ${key}}\n`,
    );
    const security = createHttpSecurity({ log: createLogger('silent', 'json'), webConfigFile: file });
    const app = express();
    app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
    const server = await security.listen(app, 0, '127.0.0.1');
    const url = `https://127.0.0.1:${boundPort(server)}`;
    const status = async (ca: string): Promise<number> => {
      const dispatcher = new Agent({ connect: { ca: await readFile(ca) } });
      try {
        const res = await fetch(`${url}/health`, { dispatcher, signal: AbortSignal.timeout(10_000) });
        await res.text();
        return res.status;
      } finally {
        await dispatcher.close();
      }
    };
    try {
      expect(await status(material.caFile)).toBe(200);
      await copyFile(foreign.serverCertFile, cert);
      await copyFile(foreign.serverKeyFile, key);
      security.reloadTls();
      expect(await status(foreign.caFile)).toBe(200);
      await expect(status(material.caFile)).rejects.toThrow();
    } finally {
      server.close();
    }
  });

  it('mutual TLS plus bearer tokens on the full API', async () => {
    const file = await writeConfig(
      'mtls-auth.yml',
      [
        'tls_server_config:',
        `  cert_file: ${material.serverCertFile}`,
        `  key_file: ${material.serverKeyFile}`,
        `  client_ca_file: ${material.caFile}`,
        'etcd_monitor:',
        '  tokens: [{name: op, token_file: operator.token, role: operator}]',
        '',
      ].join('\n'),
    );
    const api = await startApiServer({ endpoints: cluster.endpoints, webConfigFile: file });
    const dispatcher = new Agent({
      connect: {
        ca: await readFile(material.caFile),
        cert: await readFile(material.clientCertFile),
        key: await readFile(material.clientKeyFile),
      },
    });
    try {
      expect(api.url).toMatch(/^https:/);
      const anon = await fetch(`${api.url}/api/v1/cluster/status`, { dispatcher });
      expect(anon.status).toBe(401);
      await anon.text();
      const ok = await fetch(`${api.url}/api/v1/cluster/status`, {
        dispatcher,
        headers: { authorization: `Bearer ${TOKENS.operator}` },
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ member_count: 1 });
    } finally {
      await dispatcher.close();
      await api.close();
    }
  });
});

describe('CORS', () => {
  it('answers preflights and tags responses only for configured origins', async () => {
    const security = createHttpSecurity({
      log: createLogger('silent', 'json'),
      corsOrigins: ['https://grafana.example'],
    });
    const app = express();
    for (const mw of security.middleware) app.use(mw);
    app.get('/api/v1/x', (_req, res) => void res.json({ ok: true }));
    const server = await security.listen(app, 0, '127.0.0.1');
    const url = `http://127.0.0.1:${boundPort(server)}/api/v1/x`;
    try {
      const pre = await fetch(url, {
        method: 'OPTIONS',
        headers: { origin: 'https://grafana.example', 'access-control-request-method': 'GET' },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('https://grafana.example');
      expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
      const allowed = await fetch(url, { headers: { origin: 'https://grafana.example' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://grafana.example');
      const other = await fetch(url, { headers: { origin: 'https://evil.example' } });
      expect(other.status).toBe(200);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      server.close();
    }
  });
});
