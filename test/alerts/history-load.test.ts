import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_FILE_NAME } from '../../src/alerts/history-store.js';
import { loadNotification, postWebhook, rssBytes } from '../../harness/alert-notifications.js';
import { SHIPPED_NODE_FLAGS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';

// The load: 30 notifications of 10,000 distinct firing alerts each, posted to the real exporter (run
// with the shipped node flags). Before: RSS 98 -> ≈600 MiB, a 123 MiB history file, a 130 MB GET /alerts.
// Times are measured by perf/alert-history.ts, not asserted here.

const MiB = 1024 * 1024;
const NOTIFICATIONS = 30;
const ALERTS = 10_000;

let exporter: ExporterProcess | undefined;
let dataDir: string;
let args: string[];

beforeAll(async () => {
  // Nothing listens there: the webhook works whatever etcd does.
  args = ['--endpoints', `http://127.0.0.1:${await freePort()}`, '--cluster-name', 'load'];
  exporter = await startExporter({ args, waitReady: false, nodeArgs: SHIPPED_NODE_FLAGS });
  dataDir = exporter.dataDir;
  args.push('--data-dir', dataDir);
});
afterAll(async () => {
  await exporter?.stop();
});

async function getSize(
  e: ExporterProcess,
  p: string,
): Promise<{ bytes: number; body: Record<string, unknown> }> {
  const res = await fetch(`${e.url}${p}`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { bytes: Buffer.byteLength(text), body: JSON.parse(text) as Record<string, unknown> };
}

describe('30 notifications of 10,000 alerts each to the real exporter', () => {
  it('keeps RSS under 200 MiB, the firing set, GET /api/v1/alerts and the history file bounded', async () => {
    const e = exporter as ExporterProcess;
    const rss: number[] = [rssBytes(e.proc.pid)];
    const times: number[] = [];
    for (let batch = 0; batch < NOTIFICATIONS; batch++) {
      const body = loadNotification(batch, ALERTS);
      expect(body.length).toBeLessThan(5 * MiB);
      const res = await postWebhook(e.url, body);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toMatchObject({ recorded: ALERTS, persisted: true });
      times.push(res.ms);
      rss.push(rssBytes(e.proc.pid));
    }
    const peak = Math.max(...rss);
    console.log(
      `RSS ${(rss[0]! / MiB).toFixed(0)} -> peak ${(peak / MiB).toFixed(0)} MiB; POST ms median ${times.sort((a, b) => a - b)[15]?.toFixed(0)}`,
    );
    expect(peak).toBeLessThan(200 * MiB);

    const page = await getSize(e, '/api/v1/alerts');
    expect(page.body).toMatchObject({ count: 100, total: 10_000 });
    expect(page.bytes).toBeLessThan(200 * 1024);
    const biggest = await getSize(e, '/api/v1/alerts?limit=1000');
    expect(biggest.body).toMatchObject({ count: 1000 });
    expect(biggest.bytes).toBeLessThan(1.5 * MiB);
    const history = await getSize(e, '/api/v1/alerts/history?limit=1000');
    expect(history.bytes).toBeLessThan(1.5 * MiB);
    expect(await e.sample('etcd_monitor_alerts_firing')).toBe(10_000);
    expect(await e.sample('etcd_monitor_alerts_dropped_total', { reason: 'over_capacity' })).toBe(
      (NOTIFICATIONS - 1) * ALERTS,
    );
    // Compacted to the retained events (1000 + 10,000 still firing) whenever it passes twice that.
    const file = await stat(path.join(dataDir, HISTORY_FILE_NAME));
    expect(file.size).toBeLessThan(3 * 11_000 * 600);
  }, 300_000);

  it('restarts on that file with RSS still under 200 MiB and the same firing set', async () => {
    await (exporter as ExporterProcess).proc.child.kill('SIGTERM');
    await (exporter as ExporterProcess).proc.exited;
    exporter = await startExporter({ args, waitReady: false, nodeArgs: SHIPPED_NODE_FLAGS });
    const e = exporter;
    const page = await getSize(e, '/api/v1/alerts?limit=1');
    expect(page.body).toMatchObject({ count: 1, total: 10_000 });
    expect(rssBytes(e.proc.pid)).toBeLessThan(200 * MiB);
  }, 60_000);
});
