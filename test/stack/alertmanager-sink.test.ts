import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';
import { ROOT, bindMounts, composeConfig } from './compose-files.js';

// `docker compose up` with no receiver secrets: the compose Alertmanager entrypoint (the real script,
// launching the real Alertmanager binary) must deliver notifications to the exporter's webhook, where
// they land in the alert history.

let exporter: ExporterProcess;
let alertmanager: TrackedProcess;
let amUrl: string;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'am-sink-'));
  // No etcd is needed to receive notifications; the exporter's collection just fails meanwhile.
  const unused = await freePort();
  exporter = await startExporter({
    args: ['--endpoints', `http://127.0.0.1:${unused}`, '--cluster-name', 'demo'],
    waitReady: false,
  });
  const config = await composeConfig();
  const am = config.services.alertmanager;
  const mounts = bindMounts(config).filter((m) => m.service === 'alertmanager');
  const script = mounts.find((m) => am?.entrypoint?.includes(m.target))?.source;
  expect(script, 'entrypoint script mount').toBeDefined();
  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  // The compose environment with every secret unset, as docker-compose passes it without an .env file.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const name of Object.keys(am?.environment ?? {})) env[name] = '';
  Object.assign(env, {
    ETCD_MONITOR_AM_SOURCE: path.join(ROOT, 'alertmanager'),
    ETCD_MONITOR_AM_OUT: path.join(tmp, 'config'),
    ETCD_MONITOR_HISTORY_URL: `${exporter.url}/api/v1/alerts/webhook`,
    ALERTMANAGER_BIN: process.env.ALERTMANAGER_BIN ?? 'prometheus-alertmanager',
    ALERTMANAGER_GROUP_WAIT: '1s',
  });
  alertmanager = spawnTracked(
    'sh',
    [
      script!,
      `--storage.path=${path.join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { env, label: 'alertmanager' },
  );
  await waitFor(
    async () => {
      if (!alertmanager.running) throw new Error(`exited:\n${alertmanager.output()}`);
      return (await fetch(`${amUrl}/-/ready`)).ok;
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'Alertmanager started by the compose entrypoint' },
  );
}, 60_000);

afterAll(async () => {
  if (alertmanager) await terminate(alertmanager, 'SIGTERM');
  await exporter?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('compose Alertmanager without receiver secrets', () => {
  it("delivers a firing alert to the exporter's webhook, recorded in the alert history", async () => {
    expect(alertmanager.output()).toContain('no receiver secrets set');
    const alert = {
      labels: { alertname: 'EtcdComposeSinkCheck', cluster: 'demo', severity: 'warning' },
      annotations: { summary: 'Compose sink check.', description: 'Sent by the compose stack test.' },
      startsAt: new Date().toISOString(),
    };
    const posted = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert]),
    });
    expect(posted.status).toBe(200);
    const event = await waitFor(
      async () => {
        const { body } = await exporter.json<{ events: Array<Record<string, unknown>> }>(
          '/api/v1/alerts/history?cluster=demo',
        );
        return body.events.find((e) => JSON.stringify(e).includes('EtcdComposeSinkCheck'));
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the notification to reach the exporter' },
    );
    expect(JSON.stringify(event)).toContain('firing');
  }, 45_000);
});
