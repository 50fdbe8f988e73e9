import { mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HISTORY_FILE_NAME } from '../../src/alerts/history-store.js';
import { historyFileEvents, loadNotification, postWebhook } from '../../harness/alert-notifications.js';
import { startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { waitFor } from '../../harness/processes.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

// The real exporter CLI against a damaged history file, a full disk (a real 64 KiB tmpfs) and a data
// directory it cannot use: it always starts and monitors, says what is wrong in a metric and the log, and
// every alert it acknowledged with a 2xx is in the file after a restart.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function exporterOn(dataDir: string): Promise<ExporterProcess> {
  const e = await startExporter({
    args: [
      '--endpoints',
      `http://127.0.0.1:${await freePort()}`,
      '--cluster-name',
      'disk',
      '--data-dir',
      dataDir,
    ],
    waitReady: false,
  });
  cleanups.push(() => e.stop());
  return e;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'history-disk-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function tmpfs(size: string, extra: string[] = []): Tmpfs {
  const fs = mountTmpfs(size, extra);
  cleanups.push(() => fs.unmount());
  return fs;
}

/** Writes into `file` until the filesystem is full. */
async function fill(file: string): Promise<void> {
  const h = await open(file, 'w');
  const chunk = Buffer.alloc(4096, 'x');
  let at = 0;
  try {
    for (;;) at += (await h.write(chunk, 0, chunk.length, at)).bytesWritten;
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    await h.close();
  }
}

const names = (events: Array<Record<string, unknown>>): Set<string> =>
  new Set(events.map((e) => String((e.labels as Record<string, string>).member)));

describe('the exporter and its history on a bad disk', () => {
  it('starts on a 5,000-line history with corrupt lines, keeps the newest 1000 and reports the rest', async () => {
    const dir = await tempDir();
    const lines: string[] = [];
    for (let seq = 1; seq <= 5000; seq++) {
      if (seq % 100 === 0) {
        lines.push(seq % 200 === 0 ? '{"seq":' : 'not json at all');
        continue;
      }
      lines.push(
        JSON.stringify({
          seq,
          receivedAt: '2026-12-01T00:00:00.000Z',
          receiver: 'etcd-monitor-history',
          groupKey: 'g',
          status: 'resolved',
          alertname: `Old${seq}`,
          cluster: 'disk',
          severity: 'warning',
          labels: { alertname: `Old${seq}`, cluster: 'disk' },
          annotations: {},
          startsAt: '2026-12-01T00:00:00Z',
          endsAt: '2026-12-01T00:10:00Z',
          generatorURL: '',
          fingerprint: `fp${seq}`,
        }),
      );
    }
    await writeFile(path.join(dir, HISTORY_FILE_NAME), `${lines.join('\n')}\n`);
    const e = await exporterOn(dir);
    const { body } = await e.json<{ count: number; events: Array<{ seq: number }> }>(
      '/api/v1/alerts/history?limit=1000',
    );
    expect(body.count).toBe(1000);
    expect(body.events[0]?.seq).toBe(4999);
    expect(await e.sample('etcd_monitor_history_corrupt_lines_skipped_total', { history: 'alerts' })).toBe(
      50,
    );
    expect(await e.sample('etcd_monitor_history_persistent', { history: 'alerts' })).toBe(1);
    expect(e.proc.output()).toContain('skipping corrupt alert history line');
    expect((await historyFileEvents(path.join(dir, HISTORY_FILE_NAME))).length).toBe(1000);
  }, 60_000);

  it('on a full tmpfs: answers 503 until the write is on disk, reports it, and loses no acknowledged alert', async () => {
    const fs = tmpfs('64k');
    const dir = path.join(fs.dir, 'data');
    const file = path.join(dir, HISTORY_FILE_NAME);
    let e = await exporterOn(dir);
    const acked = new Set<string>();
    const refused: string[] = [];
    const filler = path.join(fs.dir, 'filler');
    // Notifications of 5 alerts (≈3 KB): a few fit into the two pages left free, the next is torn part-way.
    for (let batch = 0; batch < 60 && refused.length < 3; batch++) {
      if (batch === 2) {
        await fill(filler);
        const { size } = await stat(filler);
        await truncate(filler, size - 8192);
      }
      const body = loadNotification(batch, 5);
      const res = await postWebhook(e.url, body);
      const members = (JSON.parse(body) as { alerts: Array<{ labels: { member: string } }> }).alerts.map(
        (a) => a.labels.member,
      );
      if (res.status === 200) {
        expect(res.json).toMatchObject({ persisted: true });
        for (const m of members) acked.add(m);
      } else {
        expect(res.status).toBe(503);
        expect(res.json).toMatchObject({ error: { code: 'HISTORY_WRITE_FAILED' } });
        expect(String((res.json.error as { message: string }).message)).toContain('ENOSPC');
        refused.push(body);
      }
    }
    expect(refused.length).toBe(3);
    expect(
      await e.sample('etcd_monitor_history_write_failures_total', { history: 'alerts' }),
    ).toBeGreaterThan(0);
    expect(await e.sample('etcd_monitor_history_pending_events', { history: 'alerts' })).toBeGreaterThan(0);
    expect(e.proc.output()).toContain('could not write the alert history');
    expect((await fetch(`${e.url}/health`)).status).toBe(200);

    // Killed while the disk is full: every acknowledged alert is in the file; start-up skips a torn tail.
    await e.proc.child.kill('SIGKILL');
    await e.proc.exited;
    const afterKill = names(await historyFileEvents(file));
    // The refused write was torn part-way: its bytes follow the last good line.
    expect((await readFile(file, 'utf8')).endsWith('\n')).toBe(false);
    expect(acked.size).toBeGreaterThan(0);
    expect([...acked].filter((m) => !afterKill.has(m))).toEqual([]);
    e = await exporterOn(dir);
    const restarted = await e.json<{ total: number; alerts: Array<{ member: string }> }>(
      '/api/v1/alerts?limit=1000',
    );
    for (const m of acked) expect(restarted.body.alerts.map((a) => a.member)).toContain(m);
    expect(await e.sample('etcd_monitor_history_corrupt_lines_skipped_total', { history: 'alerts' })).toBe(1);

    // Space again: Alertmanager's retry of a refused notification is acknowledged once it is on disk.
    await truncate(filler, 0);
    for (const body of refused) {
      const res = await postWebhook(e.url, body);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toMatchObject({ persisted: true });
      for (const a of (JSON.parse(body) as { alerts: Array<{ labels: { member: string } }> }).alerts)
        acked.add(a.labels.member);
    }
    const onDisk = names(await historyFileEvents(file));
    expect([...acked].filter((m) => !onDisk.has(m))).toEqual([]);
    const raw = await readFile(file, 'utf8');
    expect(raw.endsWith('\n')).toBe(true);
    expect(raw.split('\n').filter((l) => l !== '').length).toBe((await historyFileEvents(file)).length);
  }, 120_000);

  it.each([
    ['a path under a regular file', 'file'],
    ['a read-only mount', 'ro'],
  ])(
    'with an unusable --data-dir (%s): runs, keeps the history in memory and says so',
    async (_name, kind) => {
      let dir: string;
      if (kind === 'file') {
        const parent = await tempDir();
        await writeFile(path.join(parent, 'file'), 'x');
        dir = path.join(parent, 'file', 'sub');
      } else dir = path.join(tmpfs('64k', ['ro']).dir, 'data');
      const e = await exporterOn(dir);
      expect((await fetch(`${e.url}/health`)).status).toBe(200);
      expect(await e.sample('etcd_monitor_history_persistent', { history: 'alerts' })).toBe(0);
      expect(await e.sample('etcd_monitor_history_persistent', { history: 'leader' })).toBe(0);
      // The collector still runs (its member is down, which it reports) once its first rounds are done.
      await waitFor(
        async () => (await e.sample('etcd_monitor_collector_success', { cluster: 'disk' })) !== undefined,
        {
          timeoutMs: 20_000,
          what: 'the collector series after the first rounds',
        },
      );
      const output = e.proc.output();
      expect(output).toContain(`cannot use --data-dir ${dir} for the alert history`);
      expect(output).toContain('in memory only');
      expect(output).not.toMatch(/\n\s+at [\w.<>]+ \(/);
      const res = await postWebhook(e.url, loadNotification(0, 2));
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ recorded: 2, persisted: false });
      expect(String(res.json.warning)).toContain('memory only');
      expect((await e.json<{ total: number }>('/api/v1/alerts')).body.total).toBe(2);
    },
    60_000,
  );
});
