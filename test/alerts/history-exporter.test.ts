import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/alerts/history-store.js';
import { HISTORY_FILE_NAME } from '../../src/alerts/history-store.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';

// The history as the real exporter CLI runs it: a damaged file under --data-dir must not stop start-up,
// and what the webhook records must still be there after a restart.

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25');
let dataDir: string;
let deadEndpoint: string;
let exporter: ExporterProcess | undefined;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'history-exporter-'));
  // Nothing listens there: the exporter serves its API (and the alert routes) whatever etcd does.
  deadEndpoint = `http://127.0.0.1:${await freePort()}`;
});
afterAll(async () => {
  await exporter?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const start = () =>
  startExporter({
    args: ['--endpoints', deadEndpoint, '--data-dir', dataDir, '--cluster-name', 'hx'],
    waitReady: false,
  });

async function history(e: ExporterProcess): Promise<AlertEvent[]> {
  const { status, body } = await e.json<{ events: AlertEvent[]; corruptLinesSkipped: number }>(
    '/api/v1/alerts/history',
  );
  expect(status).toBe(200);
  return body.events;
}

describe('alert history in the running exporter', () => {
  it('starts despite a corrupt history file, reports the bad line, and keeps the good one', async () => {
    const good: AlertEvent = {
      seq: 7,
      receivedAt: '2026-01-01T00:00:00.000Z',
      receiver: 'etcd-monitor-history',
      groupKey: '{}:{alertname="EtcdNoLeader", cluster="hx"}',
      status: 'firing',
      alertname: 'EtcdNoLeader',
      cluster: 'hx',
      severity: 'critical',
      labels: { alertname: 'EtcdNoLeader', cluster: 'hx', severity: 'critical' },
      annotations: { summary: 'etcd cluster has no leader.' },
      startsAt: '2026-01-01T00:00:00Z',
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: '',
      fingerprint: 'f00d',
    };
    await writeFile(
      path.join(dataDir, HISTORY_FILE_NAME),
      `{"seq":1,"trunc\n${JSON.stringify(good)}\n\u0000\u0000\n`,
    );
    exporter = await start();
    const events = await history(exporter);
    expect(events.map((e) => e.alertname)).toEqual(['EtcdNoLeader']);
    const { body } = await exporter.json<{ corruptLinesSkipped: number }>('/api/v1/alerts/history');
    expect(body.corruptLinesSkipped).toBe(2);
    expect(exporter.proc.output()).toContain('skipping corrupt alert history line');
    expect((await exporter.json<{ count: number }>('/api/v1/alerts')).body.count).toBe(1);
  });

  it('records a real Alertmanager notification and still has it after a restart', async () => {
    const e = exporter as ExporterProcess;
    const res = await fetch(`${e.url}/api/v1/alerts/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: await readFile(path.join(FIXTURES, 'webhook-firing-critical.json'), 'utf8'),
    });
    expect(res.status).toBe(200);
    expect(e.proc.output()).toContain('alert notification [FIRING:1] EtcdQuorumLost cluster=c1');
    await e.stop();
    exporter = await start();
    const events = await history(exporter);
    expect(events.map((x) => `${x.seq}:${x.alertname}`)).toEqual(['8:EtcdQuorumLost', '7:EtcdNoLeader']);
    // The corrupt lines were compacted away on the first start.
    const lines = (await readFile(path.join(dataDir, HISTORY_FILE_NAME), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as AlertEvent).seq)).toEqual([7, 8]);
  });
});
