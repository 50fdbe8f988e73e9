import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberHttpClient } from '../../src/etcd/http-client.js';
import { fixtureText } from './fixtures.js';

/**
 * Bodies over 1 MB are decoded chunk by chunk (src/etcd/http-client.ts, EXTERNAL_STRING_BYTES); the text
 * must be exactly what was served, including multi-byte UTF-8 characters split across chunks.
 */
describe('MemberHttpClient: large /metrics bodies decode exactly', () => {
  const bodies = new Map<string, Buffer>();
  let server: http.Server;
  let endpoint: string;
  const client = new MemberHttpClient(undefined, { dialTimeoutMs: 2000, requestTimeoutMs: 10_000 });

  const real = fixtureText('follower-metrics.txt');
  const many = (n: number, label: (i: number) => string) =>
    real +
    Array.from({ length: n }, (_, i) => `etcd_server_requests_by_key_total{key="${label(i)}"} ${i}`).join(
      '\n',
    ) +
    '\n';
  const CASES: [string, string][] = [
    ['a real member (150 KB, one concat)', real],
    ['ASCII, 4 MB', many(50_000, (i) => `/registry/pods/pod-${i}`)],
    // 3-byte and 4-byte characters at every offset, so chunk boundaries fall inside them.
    ['UTF-8, 4 MB', many(40_000, (i) => `/ключ/€${'😀'.repeat(i % 5)}/${i}`)],
  ];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body = bodies.get(req.url ?? '');
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      // Odd-sized writes so chunk boundaries do not line up with characters.
      for (let o = 0; o < body.length; o += 65_521) res.write(body.subarray(o, o + 65_521));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });

  afterAll(async () => {
    await client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it.each(CASES)('%s', async (_, text) => {
    bodies.set('/metrics', Buffer.from(text, 'utf8'));
    const got = await client.fetchMetricsText(endpoint);
    expect(got.length).toBe(text.length);
    expect(got === text).toBe(true);
  });
});
