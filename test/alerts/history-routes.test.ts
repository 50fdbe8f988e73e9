import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHistoryStore, type HistoryStore } from '../../src/alerts/history-store.js';
import { createAlertRoutes } from '../../src/alerts/routes.js';
import { errorHandler } from '../../src/http/errors.js';
import { createLogger } from '../../src/util/logger.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/alertmanager-0.25');
const fixtureText = (name: string): Promise<string> => readFile(path.join(FIXTURES, name), 'utf8');

let dir: string;
let server: Server;
let base: string;
let store: HistoryStore;
const logLines: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'alert-routes-'));
  const log = createLogger('info', 'json', {
    write: (s: string) => logLines.push(s),
  } as unknown as NodeJS.WritableStream);
  store = await openHistoryStore(dir, log);
  const app = express();
  app.use('/api/v1', createAlertRoutes({ log, store }));
  app.use(errorHandler(log));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const post = (body: string, type = 'application/json', signal?: AbortSignal) =>
  fetch(`${base}/alerts/webhook`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
    ...(signal ? { signal } : {}),
  });
const getJson = async (p: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${base}${p}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('alert routes over HTTP', () => {
  it('records real Alertmanager notifications and serves firing alerts and history', async () => {
    for (const name of ['webhook-firing-critical.json', 'webhook-firing-member.json']) {
      const res = await post(await fixtureText(name));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        status: 'ok',
        recorded: 1,
        refreshed: 0,
        ignored: 0,
        persisted: true,
      });
    }
    let firing = await getJson('/alerts');
    expect(firing.status).toBe(200);
    expect(firing.body.count).toBe(2);
    expect((firing.body.alerts as Array<{ alertname: string }>).map((a) => a.alertname)).toEqual([
      'EtcdMemberDown',
      'EtcdQuorumLost',
    ]);
    expect((await getJson('/alerts?alertname=EtcdQuorumLost')).body.count).toBe(1);

    expect((await post(await fixtureText('webhook-resolved-critical.json'))).status).toBe(200);
    firing = await getJson('/alerts');
    expect(firing.body.alerts).toMatchObject([
      { alertname: 'EtcdMemberDown', cluster: 'c1', member: 'm1', severity: 'warning' },
    ]);

    const history = await getJson('/alerts/history?cluster=c1&alertname=EtcdQuorumLost');
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({
      count: 2,
      capacity: 1000,
      corruptLinesSkipped: 0,
      writeFailures: 0,
      persistent: true,
      nextBefore: null,
    });
    expect((history.body.events as Array<{ status: string }>).map((e) => e.status)).toEqual([
      'resolved',
      'firing',
    ]);
    expect(((await getJson('/alerts/history?limit=1')).body.events as unknown[]).length).toBe(1);
  });

  it('logs each notification through pino (the console channel)', () => {
    const lines = logLines.map((l) => JSON.parse(l) as { level: number; msg: string; receiver?: string });
    const notes = lines.filter((l) => l.msg.startsWith('alert notification'));
    expect(notes.map((l) => l.msg)).toEqual([
      'alert notification [FIRING:1] EtcdQuorumLost cluster=c1',
      'alert notification [FIRING:1] EtcdMemberDown cluster=c1',
      'alert notification [RESOLVED] EtcdQuorumLost cluster=c1',
    ]);
    expect(notes.map((l) => l.level)).toEqual([40, 40, 30]);
    expect(notes[0]?.receiver).toBe('etcd-monitor-history');
  });

  it.each([
    ['malformed JSON', '{"version": "4",', 'application/json', 400, 'MALFORMED_JSON'],
    [
      'a payload of another version',
      '{"version":"3","alerts":[]}',
      'application/json',
      400,
      'INVALID_ALERT_PAYLOAD',
    ],
    [
      'an alert without labels',
      '{"version":"4","groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z"}]}',
      'application/json',
      400,
      'INVALID_ALERT_PAYLOAD',
    ],
    ['a form body', 'version=4', 'application/x-www-form-urlencoded', 415, 'UNSUPPORTED_MEDIA_TYPE'],
  ])('rejects %s with a JSON error', async (_name, body, type, status, code) => {
    const res = await post(body, type);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { code } });
  });

  it('rejects a body over the size limit', async () => {
    const res = await post(JSON.stringify({ version: '4', pad: 'x'.repeat(6 * 1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
  });

  it.each([
    '/alerts/history?limit=0',
    '/alerts?limit=1001',
    '/alerts?before=x',
    '/alerts/history?before=0',
    '/alerts/history?limit=1001',
    '/alerts/history?limit=ten',
    '/alerts?cluster=',
    '/alerts/history?cluster=a&cluster=b',
  ])('rejects the bad query %s', async (p) => {
    const res = await getJson(p);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'INVALID_QUERY' } });
  });

  it('pages GET /alerts with limit and the nextBefore cursor', async () => {
    const alerts = Array.from({ length: 5 }, (_, i) => ({
      status: 'firing',
      labels: { alertname: `Paged${i}`, cluster: 'paging', severity: 'warning' },
      startsAt: '2026-12-01T00:00:00Z',
    }));
    const body = { version: '4', groupKey: 'g', status: 'firing', receiver: 'r', alerts };
    expect((await post(JSON.stringify(body))).status).toBe(200);
    const first = await getJson('/alerts?cluster=paging&limit=3');
    expect(first.body).toMatchObject({ count: 3, total: 5 });
    const second = await getJson(`/alerts?cluster=paging&limit=3&before=${String(first.body.nextBefore)}`);
    expect(second.body).toMatchObject({ count: 2, total: 5, nextBefore: null });
    const names = [first, second].flatMap((p) =>
      (p.body.alerts as Array<{ alertname: string }>).map((a) => a.alertname),
    );
    expect(names).toEqual(['Paged4', 'Paged3', 'Paged2', 'Paged1', 'Paged0']);
    // Without a limit a page holds at most 100, whatever is firing.
    expect((await getJson('/alerts')).body.count).toBeLessThanOrEqual(100);
  });

  it('parses two notifications at a time; the rest wait, and a client that goes away frees its place', async () => {
    const url = new URL(`${base}/alerts/webhook`);
    // Two requests that send headers and half a body hold both places.
    const slow = [0, 1].map(() => {
      const req = http.request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '1000' },
      });
      req.on('error', () => undefined);
      req.write('{"version":"4",');
      return req;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A third waits, and one that gives up while waiting leaves the queue.
    const quitter = new AbortController();
    const abandoned = post(
      await fixtureText('webhook-firing-critical.json'),
      'application/json',
      quitter.signal,
    ).catch(() => 'aborted');
    const third = post(await fixtureText('webhook-firing-critical.json'));
    const early = await Promise.race([
      third.then(() => 'answered'),
      new Promise((r) => setTimeout(() => r('waiting'), 500)),
    ]);
    expect(early).toBe('waiting');
    quitter.abort();
    expect(await abandoned).toBe('aborted');
    for (const req of slow) req.destroy();
    expect((await third).status).toBe(200);
    // Both places are free again: with one held by a new slow request, another notification still goes through.
    const holder = http.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
    });
    holder.on('error', () => undefined);
    holder.write('{');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [a, b] = await Promise.all(
      [0, 1].map(async () =>
        post(
          await fixtureText('webhook-resolved-critical.json'),
          'application/json',
          AbortSignal.timeout(5000),
        ),
      ),
    );
    expect([a?.status, b?.status]).toEqual([200, 200]);
    holder.destroy();
  });

  it('rejected requests were not recorded', () => {
    // The three fixtures, then the firing and resolved fixtures of the concurrency test.
    expect(store.history().filter((e) => e.cluster === 'c1')).toHaveLength(5);
  });
});
