import { open, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HISTORY_FILE_NAME } from '../../src/alerts/history-store.js';
import { historyFileEvents } from '../../harness/alert-notifications.js';
import { startAlertmanager, type RunningAlertmanager } from '../support/alertmanager.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { waitFor } from '../../harness/processes.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

// The real Alertmanager sending to the real exporter whose --data-dir is a full tmpfs: the exporter answers
// 503 (nothing acknowledged that is not on disk), Alertmanager keeps the notification, and once there is space
// the alert reaches the history file.

let fs: Tmpfs | undefined;
let exporter: ExporterProcess | undefined;
let am: RunningAlertmanager | undefined;
afterAll(async () => {
  await am?.stop();
  await exporter?.stop();
  fs?.unmount();
});

describe('Alertmanager and a full disk', () => {
  it('an alert refused with 503 while the disk is full is in the history once there is space', async () => {
    fs = mountTmpfs('64k');
    const dataDir = path.join(fs.dir, 'data');
    exporter = await startExporter({
      args: ['--endpoints', `http://127.0.0.1:${await freePort()}`, '--data-dir', dataDir],
      waitReady: false,
    });
    const filler = path.join(fs.dir, 'filler');
    const h = await open(filler, 'w');
    const chunk = Buffer.alloc(4096, 'x');
    try {
      for (let at = 0; ;) at += (await h.write(chunk, 0, chunk.length, at)).bytesWritten;
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      await h.close();
    }
    am = await startAlertmanager({
      configYaml: [
        'route:',
        '  receiver: history',
        '  group_by: [alertname]',
        '  group_wait: 1s',
        '  group_interval: 2s',
        '  repeat_interval: 1h',
        'receivers:',
        '  - name: history',
        '    webhook_configs:',
        `      - url: ${exporter.url}/api/v1/alerts/webhook`,
        '        send_resolved: true',
      ].join('\n'),
    });
    await am.postAlerts([{ labels: { alertname: 'EtcdDiskFullRetry', cluster: 'c1', severity: 'warning' } }]);
    const e = exporter;
    await waitFor(
      async () =>
        ((await e.sample('etcd_monitor_history_write_failures_total', { history: 'alerts' })) ?? 0) > 0,
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: 'the exporter to fail writing the notification',
      },
    );
    // Alertmanager 0.25 logs: msg="Notify attempt failed, will retry later" ... err="unexpected status code 503 ...
    await waitFor(
      () =>
        /Notify attempt failed, will retry later.*unexpected status code 503.*HISTORY_WRITE_FAILED/.test(
          am?.logs() ?? '',
        ),
      { timeoutMs: 30_000, intervalMs: 200, what: "Alertmanager to see the exporter's 503 and plan a retry" },
    );
    const file = path.join(dataDir, HISTORY_FILE_NAME);
    expect((await stat(file)).size).toBe(0);

    await truncate(filler, 0);
    const events = await waitFor(
      async () => {
        const all = await historyFileEvents(file);
        return all.some((ev) => ev.alertname === 'EtcdDiskFullRetry') ? all : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'the alert to reach the history file' },
    );
    expect(events.filter((ev) => ev.alertname === 'EtcdDiskFullRetry')).toHaveLength(1);
  }, 120_000);
});
