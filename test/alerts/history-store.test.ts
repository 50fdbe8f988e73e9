import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_FILE_NAME, openHistoryStore } from '../../src/alerts/history-store.js';
import {
  parseWebhookPayload,
  WebhookPayloadError,
  type WebhookPayload,
} from '../../src/alerts/webhook-payload.js';
import { createLogger } from '../../src/util/logger.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25');
const fixture = async (name: string): Promise<unknown> =>
  JSON.parse(await readFile(path.join(FIXTURES, name), 'utf8'));

function capturingLogger(): {
  log: ReturnType<typeof createLogger>;
  lines: () => Array<Record<string, unknown>>;
} {
  const out: string[] = [];
  const log = createLogger('debug', 'json', {
    write: (s: string) => out.push(s),
  } as unknown as NodeJS.WritableStream);
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A notification like the captured one, for one alert with the given identity and status. */
function notification(
  base: WebhookPayload,
  alertname: string,
  cluster: string,
  status: 'firing' | 'resolved',
  member?: string,
): WebhookPayload {
  const labels = { alertname, cluster, severity: 'warning', ...(member ? { member } : {}) };
  const alert = {
    ...(base.alerts[0] as WebhookPayload['alerts'][number]),
    status,
    labels,
    fingerprint: `${alertname}/${cluster}/${member ?? ''}`,
  };
  return { ...base, status, groupLabels: { alertname, cluster }, commonLabels: labels, alerts: [alert] };
}

let dir: string;
let firing: WebhookPayload;
let resolved: WebhookPayload;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'history-test-'));
  firing = parseWebhookPayload(await fixture('webhook-firing-critical.json'));
  resolved = parseWebhookPayload(await fixture('webhook-resolved-critical.json'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseWebhookPayload', () => {
  it('accepts the payloads Alertmanager 0.25 really sent', async () => {
    const member = parseWebhookPayload(await fixture('webhook-firing-member.json'));
    expect(member.alerts[0]?.labels).toEqual({
      alertname: 'EtcdMemberDown',
      cluster: 'c1',
      member: 'm1',
      severity: 'warning',
    });
    expect(firing.status).toBe('firing');
    expect(resolved.alerts[0]?.fingerprint).toBe(firing.alerts[0]?.fingerprint);
    expect(resolved.alerts[0]?.endsAt).not.toBe('0001-01-01T00:00:00Z');
  });

  it.each([
    ['a non-object', [], '$'],
    ['another version', { version: '3' }, '$.version'],
    ['missing alerts', { version: '4' }, '$.alerts'],
    ['an empty alert list', { version: '4', alerts: [] }, '$.alerts'],
    ['a bad status', { version: '4', groupKey: 'g', alerts: [{}], status: 'pending' }, '$.status'],
    [
      'a non-string label',
      {
        version: '4',
        groupKey: 'g',
        receiver: 'r',
        status: 'firing',
        alerts: [{ status: 'firing', labels: { a: 1 } }],
      },
      '$.alerts[0].labels.a',
    ],
    [
      'a bad startsAt',
      {
        version: '4',
        groupKey: 'g',
        receiver: 'r',
        status: 'firing',
        alerts: [{ status: 'firing', labels: { a: 'b' }, startsAt: 'yesterday' }],
      },
      '$.alerts[0].startsAt',
    ],
  ])('rejects %s with the JSON path of the problem', (_name, body, where) => {
    let thrown: unknown;
    try {
      parseWebhookPayload(body);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WebhookPayloadError);
    expect((thrown as WebhookPayloadError).path).toBe(where);
    expect((thrown as WebhookPayloadError).code).toBe('INVALID_ALERT_PAYLOAD');
  });
});

describe('history store', () => {
  it('records events newest first, tracks what is firing, and survives a restart', async () => {
    const { log } = capturingLogger();
    const store = await openHistoryStore(dir, log);
    const first = await store.record(firing);
    expect(first.persisted).toBe(true);
    expect(first.events[0]).toMatchObject({
      seq: 1,
      status: 'firing',
      alertname: 'EtcdQuorumLost',
      cluster: 'c1',
      severity: 'critical',
      receiver: 'etcd-monitor-history',
    });
    expect(store.firing().alerts.map((e) => e.alertname)).toEqual(['EtcdQuorumLost']);
    await store.record(notification(firing, 'EtcdMemberDown', 'c2', 'firing', 'm2'));
    await store.record(resolved);
    expect(store.firing().alerts.map((e) => `${e.alertname}/${e.cluster}/${e.member}`)).toEqual([
      'EtcdMemberDown/c2/m2',
    ]);
    expect(store.history().map((e) => `${e.seq}:${e.alertname}:${e.status}`)).toEqual([
      '3:EtcdQuorumLost:resolved',
      '2:EtcdMemberDown:firing',
      '1:EtcdQuorumLost:firing',
    ]);
    expect(store.history({ cluster: 'c2' }).map((e) => e.seq)).toEqual([2]);
    expect(store.history({ alertname: 'EtcdQuorumLost', limit: 1 }).map((e) => e.seq)).toEqual([3]);
    await store.close();

    const reopened = await openHistoryStore(dir, log);
    expect(reopened.history().map((e) => e.seq)).toEqual([3, 2, 1]);
    expect(reopened.firing().alerts.map((e) => e.alertname)).toEqual(['EtcdMemberDown']);
    expect((await reopened.record(firing)).events[0]?.seq).toBe(4);
    await reopened.close();
  });

  it('keeps the newest 1000 events and compacts the file once it passes twice that', async () => {
    const { log } = capturingLogger();
    const store = await openHistoryStore(dir, log);
    // Each alert fires and resolves: nothing stays firing, so the file is compacted down to the ring.
    for (let i = 0; i < 1050; i++) {
      await store.record(notification(firing, `A${i}`, 'c1', 'firing'));
      await store.record(notification(firing, `A${i}`, 'c1', 'resolved'));
    }
    expect(store.history({ limit: 1000 })).toHaveLength(1000);
    expect(store.history({ limit: 1 })[0]).toMatchObject({ alertname: 'A1049', status: 'resolved' });
    const lines = (await readFile(path.join(dir, HISTORY_FILE_NAME), 'utf8')).trim().split('\n');
    // 2100 events: compacted to 1000 at the 2001st line, then 99 appended again.
    expect(lines).toHaveLength(1099);
    expect(store.stats().log).toMatchObject({ capacity: 1000, size: 1000, fileLines: 1099, compactions: 1 });
    await store.close();
  });

  it('keeps a still-firing alert across restarts after it fell out of the ring', async () => {
    const { log } = capturingLogger();
    const store = await openHistoryStore(dir, log, { capacity: 3, compactAfterLines: 4 });
    await store.record(notification(firing, 'LongFiring', 'c1', 'firing'));
    for (let i = 0; i < 6; i++) await store.record(notification(firing, `Churn${i}`, 'c1', 'resolved'));
    expect(store.history().map((e) => e.alertname)).toEqual(['Churn5', 'Churn4', 'Churn3']);
    expect(store.firing().alerts.map((e) => e.alertname)).toEqual(['LongFiring']);
    await store.close();
    const reopened = await openHistoryStore(dir, log, { capacity: 3, compactAfterLines: 4 });
    expect(reopened.firing().alerts.map((e) => e.alertname)).toEqual(['LongFiring']);
    expect(reopened.history().map((e) => e.alertname)).toEqual(['Churn5', 'Churn4', 'Churn3']);
    await reopened.close();
  });

  it('skips, counts and logs corrupt lines and a torn last line, then rewrites the file clean', async () => {
    const { log, lines } = capturingLogger();
    const store = await openHistoryStore(dir, log);
    await store.record(firing);
    await store.record(notification(firing, 'EtcdMemberDown', 'c2', 'firing', 'm2'));
    await store.close();
    const file = path.join(dir, HISTORY_FILE_NAME);
    const good = (await readFile(file, 'utf8')).trim().split('\n');
    await writeFile(file, [good[0], '{"seq": 2, "not": "an event"}', 'garbage{', good[1]].join('\n') + '\n');
    await appendFile(file, '{"seq":9,"receivedAt":"2026-01-');

    const reopened = await openHistoryStore(dir, log);
    expect(reopened.history().map((e) => e.alertname)).toEqual(['EtcdMemberDown', 'EtcdQuorumLost']);
    expect(reopened.stats().log.corruptLinesSkipped).toBe(3);
    const warned = lines().filter((l) => l.msg === 'skipping corrupt alert history line');
    expect(warned.map((l) => l.line)).toEqual([2, 3, 5]);
    expect(warned[0]?.reason).toBe('missing or bad "receivedAt"');
    expect((await readFile(file, 'utf8')).trim().split('\n')).toEqual(good);
    // Appends after the repair land on their own line.
    await reopened.record(resolved);
    await reopened.close();
    const again = await openHistoryStore(dir, log);
    expect(again.stats().log.corruptLinesSkipped).toBe(0);
    expect(again.history()).toHaveLength(3);
    await again.close();
  });

  it('keeps the history in memory only when the data directory cannot be used, and says so', async () => {
    const notADir = path.join(dir, 'file');
    await writeFile(notADir, 'x');
    const { log, lines } = capturingLogger();
    const store = await openHistoryStore(path.join(notADir, 'sub'), log);
    expect(store.stats().log).toMatchObject({ persistent: false });
    const result = await store.record(firing);
    expect(result).toMatchObject({ persisted: false, memoryOnly: true });
    expect(store.firing().alerts.map((e) => e.alertname)).toEqual(['EtcdQuorumLost']);
    const error = lines().find((l) => l.level === 50);
    expect(String(error?.msg)).toContain(`cannot use --data-dir ${path.join(notADir, 'sub')}`);
    expect(String(error?.msg)).toContain('memory only');
    expect(error?.err).toMatch(/ENOTDIR|EEXIST/);
    expect(JSON.stringify(lines())).not.toContain('    at ');
    await store.close();
  });
});
