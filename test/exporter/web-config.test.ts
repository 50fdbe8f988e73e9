import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';

const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
const OPERATOR_TOKEN = 'operator-token-0123456789abcdef';

describe('the exporter process with --web.config.file, --cors-origin and without --prometheus-url', () => {
  let cluster: EtcdCluster;
  let exporter: ExporterProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'etcd-monitor-webcfg-'));
    writeFileSync(join(dir, 'viewer.token'), `${VIEWER_TOKEN}\n`);
    writeFileSync(join(dir, 'operator.token'), `${OPERATOR_TOKEN}\n`);
    writeFileSync(
      join(dir, 'web.yml'),
      [
        'etcd_monitor:',
        '  metrics_auth: false',
        '  tokens:',
        '    - {name: dash, token_file: viewer.token, role: viewer}',
        '    - {name: ci, token_file: operator.token, role: operator}',
        '',
      ].join('\n'),
    );
    cluster = await startCluster({ size: 1 });
    exporter = await startExporter({
      args: [
        '--endpoints',
        cluster.endpoints.join(','),
        '--web.config.file',
        join(dir, 'web.yml'),
        '--cors-origin',
        'https://grafana.example',
        '--web.enable-benchmark-api',
      ],
    });
  });

  afterAll(async () => {
    await exporter?.stop();
    await cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, token?: string, origin?: string) =>
    fetch(`${exporter.url}${path}`, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(origin ? { origin } : {}) },
    });

  it('keeps /metrics, /health and /ready open, and asks for credentials on the API', async () => {
    expect((await get('/metrics')).status).toBe(200);
    expect((await get('/health')).status).toBe(200);
    expect((await get('/ready')).status).toBe(200);
    const anonymous = await get('/api/v1/cluster/status');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toHaveProperty('error.code');
    expect((await get('/api/v1/cluster/status', 'wrong-token-0123456789')).status).toBe(401);
    expect((await get('/api/v1/cluster/status', VIEWER_TOKEN)).status).toBe(200);
  });

  it('lets a viewer read but not start a benchmark; an operator gets past authorization', async () => {
    const post = (token: string) =>
      fetch(`${exporter.url}/api/v1/performance/benchmark`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'scan' }),
      });
    expect((await post(VIEWER_TOKEN)).status).toBe(403);
    const operator = await post(OPERATOR_TOKEN);
    expect(operator.status).toBe(400);
    expect(((await operator.json()) as { error: { code: string } }).error.code).toBe('INVALID_TYPE');
  });

  it('serves the OpenAPI document, answers history with 503 without --prometheus-url, and applies CORS', async () => {
    const doc = (await (await get('/api/v1/openapi.json', VIEWER_TOKEN)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/api/v1/cluster/status');
    const history = await get('/api/v1/metrics/history?series=db_size', VIEWER_TOKEN);
    expect(history.status).toBe(503);
    const cors = await get('/api/v1/cluster/status', VIEWER_TOKEN, 'https://grafana.example');
    expect(cors.headers.get('access-control-allow-origin')).toBe('https://grafana.example');
    const other = await get('/api/v1/cluster/status', VIEWER_TOKEN, 'https://evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
