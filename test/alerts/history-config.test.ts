import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { loadNotification, postWebhook } from '../../harness/alert-notifications.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';

// --alerts.resolve-timeout: flag, env and default as every setting, a bad value exits 2 naming it, and the
// running exporter expires a firing alert that is not re-sent within it.

const ROOT = path.resolve(import.meta.dirname, '../..');
let exporter: ExporterProcess | undefined;
afterAll(async () => {
  await exporter?.stop();
});

describe('--alerts.resolve-timeout', () => {
  it('defaults to 5m like Alertmanager, and is set by flag or ETCD_MONITOR_ALERTS_RESOLVE_TIMEOUT', () => {
    expect(resolveConfig({ flags: {}, env: {} }).alerts.resolveTimeoutMs).toBe(300_000);
    expect(
      resolveConfig({ flags: { 'alerts.resolve-timeout': '10m' }, env: {} }).alerts.resolveTimeoutMs,
    ).toBe(600_000);
    expect(
      resolveConfig({ flags: {}, env: { ETCD_MONITOR_ALERTS_RESOLVE_TIMEOUT: '90s' } }).alerts
        .resolveTimeoutMs,
    ).toBe(90_000);
  });

  it('a bad value exits 2 naming the flag', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', '--alerts.resolve-timeout', 'soon'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '' },
        timeout: 60_000,
      },
    );
    expect(run.stderr).toContain('invalid configuration: --alerts.resolve-timeout');
    expect(run.status).toBe(2);
  });

  it('the running exporter stops listing an alert not re-sent within it, and counts it', async () => {
    exporter = await startExporter({
      args: ['--endpoints', `http://127.0.0.1:${await freePort()}`, '--alerts.resolve-timeout', '2s'],
      waitReady: false,
    });
    expect((await postWebhook(exporter.url, loadNotification(0, 3))).status).toBe(200);
    expect((await exporter.json<{ total: number }>('/api/v1/alerts')).body.total).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await exporter.json<{ total: number }>('/api/v1/alerts')).body.total).toBe(0);
    expect(await exporter.sample('etcd_monitor_alerts_dropped_total', { reason: 'expired' })).toBe(3);
    // Still in the history: expiry only says Alertmanager stopped telling us.
    expect((await exporter.json<{ count: number }>('/api/v1/alerts/history')).body.count).toBe(3);
  }, 60_000);
});
