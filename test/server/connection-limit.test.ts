import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import {
  DEFAULT_MAX_CONNECTIONS,
  limitConnections,
  registerConnectionMetrics,
  type ConnectionStats,
} from '../../src/server/connection-limit.js';
import { FIELDS } from '../../src/config/fields.js';
import { waitFor } from '../../harness/processes.js';

/** A loopback server whose /hold requests stay open until released, with the limiter installed. */
async function serve(max: number, firstRequestTimeoutMs = 60_000) {
  const held: http.ServerResponse[] = [];
  const warnings: object[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end('ok');
  });
  const stats = limitConnections(server, max, { warn: (obj) => warnings.push(obj) }, firstRequestTimeoutMs);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const clients: net.Socket[] = [];
  /** A raw connection; resolves once connected, `closed` once the server closed it. */
  const connect = async (request?: string) => {
    const socket = net.connect(port, '127.0.0.1');
    clients.push(socket);
    let data = '';
    socket.on('data', (d) => (data += String(d)));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    if (request) socket.write(request);
    return { socket, closed, data: () => data };
  };
  return {
    server,
    stats,
    held,
    warnings,
    connect,
    async close() {
      for (const res of held) res.end();
      for (const c of clients) c.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
/** Lets the server see connections and requests sent so far. */
const settle = async (stats: ConnectionStats, open: number) =>
  waitFor(() => stats.open === open, {
    what: `${open} open connections (have ${stats.open})`,
    timeoutMs: 5000,
  });

describe('limitConnections', () => {
  let current: Awaited<ReturnType<typeof serve>> | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  it('defaults to 512, as Prometheus --web.max-connections', () => {
    expect(DEFAULT_MAX_CONNECTIONS).toBe(512);
    expect(FIELDS.webMaxConnections.defaultValue).toBe(DEFAULT_MAX_CONNECTIONS);
  });

  it('a connection over the cap replaces the oldest silent one, and its request is answered', async () => {
    const s = (current = await serve(3));
    const silent = [await s.connect(), await s.connect(), await s.connect()];
    await settle(s.stats, 3);
    const scrape = await s.connect(GET('/metrics'));
    await silent[0]?.closed;
    await waitFor(() => scrape.data().includes('200 OK'), { what: 'the scrape to be answered' });
    expect(s.stats.open).toBe(3);
    expect(s.stats.dropped).toEqual({ evicted_idle: 1, over_limit: 0, no_request: 0 });
    expect(silent[1]?.socket.destroyed).toBe(false);
    expect(s.warnings).toHaveLength(1);
    expect(s.warnings[0]).toMatchObject({ maxConnections: 3 });
  });

  it('never closes a connection with a request in flight: a new one is refused instead', async () => {
    const s = (current = await serve(2));
    const busy = [await s.connect(GET('/hold')), await s.connect(GET('/hold'))];
    await waitFor(() => s.held.length === 2, { what: 'both requests to be held' });
    const late = await s.connect(GET('/metrics'));
    await late.closed;
    expect(late.data()).toBe('');
    expect(s.stats.dropped).toEqual({ evicted_idle: 0, over_limit: 1, no_request: 0 });
    expect(busy.map((b) => b.socket.destroyed)).toEqual([false, false]);
    // Once a response is written the kept-alive connection is idle, and the next newcomer may replace it.
    s.held[0]?.end('done');
    await waitFor(() => busy[0]?.data().includes('done'), { what: 'the first held response' });
    const next = await s.connect(GET('/metrics'));
    await waitFor(() => next.data().includes('200 OK'), { what: 'the next request to be answered' });
    await busy[0]?.closed;
    expect(s.stats.dropped.evicted_idle).toBe(1);
  });

  it('closes a connection that sends no complete request within the first-request timeout', async () => {
    const s = (current = await serve(10, 300));
    const silent = await s.connect();
    const partial = await s.connect('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    const served = await s.connect(GET('/hold'));
    await Promise.all([silent.closed, partial.closed]);
    expect(s.stats.dropped.no_request).toBe(2);
    expect(served.socket.destroyed).toBe(false);
    // Not a flood: no warning for connections that simply timed out.
    expect(s.warnings).toHaveLength(0);
  });

  it('0 means no cap', async () => {
    const s = (current = await serve(0));
    for (let i = 0; i < 50; i++) await s.connect();
    await settle(s.stats, 50);
    expect(s.stats.dropped).toEqual({ evicted_idle: 0, over_limit: 0, no_request: 0 });
  });

  it('keeps the cap under a flood of 300 half-open connections and exposes what it did', async () => {
    const s = (current = await serve(20));
    const flood = await Promise.all(Array.from({ length: 300 }, () => s.connect()));
    await waitFor(() => flood.filter((c) => c.socket.destroyed).length >= 280, {
      what: 'all but 20 of the flood closed',
    });
    const scrape = await s.connect(GET('/metrics'));
    await waitFor(() => scrape.data().includes('200 OK'), { what: 'a scrape through the flood' });
    expect(s.stats.open).toBeLessThanOrEqual(20);
    const registry = new Registry();
    registerConnectionMetrics(registry, s.stats);
    const text = await registry.metrics();
    expect(text).toMatch(/^etcd_monitor_http_connections_open \d+$/m);
    expect(text).toContain('etcd_monitor_http_connections_dropped_total{reason="evicted_idle"} 281');
    expect(text).toContain('etcd_monitor_http_connections_dropped_total{reason="over_limit"} 0');
    // One warning for the whole flood (at most one per minute).
    expect(s.warnings).toHaveLength(1);
  });
});
