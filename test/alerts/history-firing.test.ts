import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_FILE_NAME, openHistoryStore } from '../../src/alerts/history-store.js';
import { parseWebhookPayload, type WebhookPayload } from '../../src/alerts/webhook-payload.js';
import { createLogger } from '../../src/util/logger.js';

// The firing set of the webhook receiver: what Alertmanager keeps re-sending stays, what it stops sending
// expires after the resolve timeout, and its size is capped. Repeats do not grow the history.

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25');
const quiet = createLogger('silent', 'json');
const MIN = 60_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');

let dir: string;
let base: WebhookPayload;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'history-firing-'));
  base = parseWebhookPayload(
    JSON.parse(await readFile(path.join(FIXTURES, 'webhook-firing-critical.json'), 'utf8')),
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A notification carrying the named alerts, all with one status and startsAt. */
function notify(
  names: string[],
  status: 'firing' | 'resolved' = 'firing',
  startsAt = '2026-12-01T00:00:00Z',
) {
  const alerts = names.map((alertname) => ({
    ...(base.alerts[0] as WebhookPayload['alerts'][number]),
    status,
    startsAt,
    labels: { alertname, cluster: 'c1', severity: 'warning' },
    fingerprint: `fp-${alertname}`,
  }));
  return { ...base, status, alerts };
}

/** A clock the test moves. */
function clock() {
  let t = T0;
  return { now: () => t, at: () => new Date(t), advance: (ms: number) => (t += ms) };
}

describe('firing set', () => {
  it('a repeat of an unchanged firing alert refreshes it without a new event; a re-fire (new startsAt) is one', async () => {
    const c = clock();
    const store = await openHistoryStore(dir, quiet, { now: c.now });
    expect((await store.record(notify(['A']), c.at())).events).toHaveLength(1);
    c.advance(MIN);
    const repeat = await store.record(notify(['A']), c.at());
    expect(repeat).toMatchObject({ events: [], refreshed: 1, persisted: true });
    const refire = await store.record(notify(['A'], 'firing', '2026-12-01T00:05:00Z'), c.at());
    expect(refire.events).toHaveLength(1);
    expect(store.history().map((e) => e.seq)).toEqual([2, 1]);
    expect(store.firing()).toMatchObject({ total: 1, alerts: [{ seq: 2 }] });
    await store.close();
  });

  it("expires alerts not re-sent within the resolve timeout; a repeat keeps them (Alertmanager's resolve_timeout)", async () => {
    const c = clock();
    const store = await openHistoryStore(dir, quiet, { now: c.now, resolveTimeoutMs: 5 * MIN });
    await store.record(notify(['Kept', 'Dropped']), c.at());
    c.advance(4 * MIN);
    await store.record(notify(['Kept']), c.at());
    c.advance(2 * MIN); // Dropped last seen 6 min ago, Kept 2 min ago.
    expect(store.firing().alerts.map((e) => e.alertname)).toEqual(['Kept']);
    expect(store.stats()).toMatchObject({ firing: 1, expiredTotal: 1 });
    // Expiry only leaves the firing set: both firing events stay in the history.
    expect(store.history()).toHaveLength(2);
    await store.close();
  });

  it('caps the firing set, dropping the least recently notified first, and counts it', async () => {
    const c = clock();
    const store = await openHistoryStore(dir, quiet, { now: c.now, maxFiring: 3 });
    await store.record(notify(['A', 'B', 'C']), c.at());
    c.advance(1000);
    await store.record(notify(['A']), c.at()); // refresh: A is now the most recent
    await store.record(notify(['D']), c.at());
    expect(
      store
        .firing()
        .alerts.map((e) => e.alertname)
        .sort(),
    ).toEqual(['A', 'C', 'D']);
    expect(store.stats()).toMatchObject({ firing: 3, droppedOverCapacityTotal: 1 });
    await store.close();
  });

  it('a retried resolve is not a second event; a resolve of an alert never seen firing is recorded', async () => {
    const store = await openHistoryStore(dir, quiet);
    await store.record(notify(['A']));
    expect((await store.record(notify(['A'], 'resolved'))).events).toHaveLength(1);
    expect((await store.record(notify(['A'], 'resolved'))).events).toHaveLength(0);
    expect((await store.record(notify(['Unseen'], 'resolved'))).events).toHaveLength(1);
    expect(store.firing().total).toBe(0);
    await store.close();
  });

  it('ignores the always-firing watchdogs: not in the history, not firing, counted', async () => {
    const store = await openHistoryStore(dir, quiet);
    const result = await store.record(notify(['EtcdMonitorWatchdog', 'Watchdog', 'Real']));
    expect(result).toMatchObject({ ignored: 2, events: [{ alertname: 'Real' }] });
    expect(store.firing().alerts.map((e) => e.alertname)).toEqual(['Real']);
    expect(store.stats().ignoredWatchdogTotal).toBe(2);
    const lines = (await readFile(path.join(dir, HISTORY_FILE_NAME), 'utf8')).trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { alertname: string }).alertname)).toEqual(['Real']);
    await store.close();
  });

  it('pages firing alerts newest first with a seq cursor', async () => {
    const store = await openHistoryStore(dir, quiet);
    await store.record(notify(['A', 'B', 'C', 'D', 'E']));
    const first = store.firing({ limit: 2 });
    expect(first).toMatchObject({ total: 5 });
    expect(first.alerts.map((e) => e.alertname)).toEqual(['E', 'D']);
    const second = store.firing({ limit: 2, before: first.alerts[1]?.seq });
    expect(second.alerts.map((e) => e.alertname)).toEqual(['C', 'B']);
    expect(store.firing({ limit: 2, before: 2 }).alerts.map((e) => e.alertname)).toEqual(['A']);
    await store.close();
  });

  it('after a restart, what was firing stays firing for one resolve timeout from the start', async () => {
    const c = clock();
    const first = await openHistoryStore(dir, quiet, { now: c.now, resolveTimeoutMs: 5 * MIN });
    await first.record(notify(['A']), c.at());
    await first.close();
    c.advance(60 * MIN); // the exporter was down for an hour: a restart is not a resolve
    const second = await openHistoryStore(dir, quiet, { now: c.now, resolveTimeoutMs: 5 * MIN });
    expect(second.firing().total).toBe(1);
    c.advance(4 * MIN);
    expect((await second.record(notify(['A']), c.at())).refreshed).toBe(1);
    c.advance(4 * MIN);
    expect(second.firing().total).toBe(1);
    c.advance(2 * MIN);
    expect(second.firing().total).toBe(0);
    await second.close();
  });
});
