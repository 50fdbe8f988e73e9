import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemberHttpClient } from '../../src/etcd/http-client.js';
import type { TlsMaterial } from '../../src/etcd/tls-material.js';
import { MemberRequestError, TlsError } from '../../src/util/errors.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';
import { generateFaultyTls, type FaultyTls } from '../support/tls-faults.js';

// MemberHttpClient (/metrics and /health over undici) against loopback servers that fail in one way
// each, and against a real etcd 3.4 with client-cert-auth (TLS 1.3: it rejects a missing client
// certificate after the handshake). Every failure is a MemberRequestError with the expected code.

let dir: string;
let certs: FaultyTls;
let etcd: EtcdCluster;
const closers: (() => void)[] = [];
const clients: MemberHttpClient[] = [];
const urls: Record<string, string> = {};

async function serve(server: net.Server, scheme: 'http' | 'https'): Promise<string> {
  server.on('connection', (s: net.Socket) => closers.push(() => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return `${scheme}://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

function client(tls?: TlsMaterial, requestTimeoutMs = 2000): MemberHttpClient {
  const c = new MemberHttpClient(tls, { dialTimeoutMs: 1000, requestTimeoutMs });
  clients.push(c);
  return c;
}

async function codeOf(p: Promise<unknown>): Promise<MemberRequestError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MemberRequestError);
    return err as MemberRequestError;
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'http-client-'));
  certs = await generateFaultyTls(dir);
  etcd = await startCluster({ size: 1, tls: true });
  urls.closed = `http://127.0.0.1:${await freePort()}`;
  urls.expired = await serve(
    https.createServer({ ...certs.expired }, (_q, r) => r.end('{}')),
    'https',
  );
  urls.silent = await serve(
    http.createServer(() => {}),
    'http',
  );
  urls.http = await serve(
    http.createServer((req, res) => {
      if (req.url === '/metrics') {
        res.writeHead(404).end('not here');
      } else if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('<html>a proxy login page</html>');
      } else res.writeHead(500).end();
    }),
    'http',
  );
  // 17 MiB of /metrics, one MiB at a time: over the client's 16 MiB cap.
  urls.huge = await serve(
    http.createServer((_req, res) => {
      const mib = Buffer.alloc(1024 * 1024, 'a');
      let sent = 0;
      const more = (): void => {
        while (sent < 17) {
          sent++;
          if (!res.write(mib)) return void res.once('drain', more);
        }
        res.end();
      };
      res.on('error', () => {});
      more();
    }),
    'http',
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const close of closers.reverse()) close();
  await etcd?.destroy();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('MemberHttpClient failures carry stable codes', () => {
  it('nothing listens: CONNECTION_REFUSED', async () => {
    expect((await codeOf(client().fetchMetricsText(urls.closed!))).code).toBe('CONNECTION_REFUSED');
  });

  it("the member's certificate expired: TLS_CERT_EXPIRED, with the certificate's date in the message", async () => {
    const err = await codeOf(client({ ca: certs.ca }).health(urls.expired!));
    expect(err.code).toBe('TLS_CERT_EXPIRED');
    expect(err).toBeInstanceOf(TlsError);
    // The date comes from the certificate itself (read by one extra handshake), not from Node's error.
    const notAfter = new Date(Date.parse(new X509Certificate(certs.expired.cert).validTo)).toISOString();
    expect(err.message).toContain(notAfter);
  });

  it('no answer within --request-timeout: REQUEST_TIMEOUT', async () => {
    expect((await codeOf(client(undefined, 300).fetchMetricsText(urls.silent!))).code).toBe(
      'REQUEST_TIMEOUT',
    );
  });

  it('an HTTP error status, and /health that is not JSON: BAD_RESPONSE', async () => {
    expect((await codeOf(client().fetchMetricsText(urls.http!))).code).toBe('BAD_RESPONSE');
    expect((await codeOf(client().health(urls.http!))).code).toBe('BAD_RESPONSE');
  });

  it('/metrics over the 16 MiB cap: MESSAGE_TOO_LARGE', async () => {
    expect((await codeOf(client().fetchMetricsText(urls.huge!))).code).toBe('MESSAGE_TOO_LARGE');
  });

  it('real etcd with client-cert-auth, no client certificate sent: TLS_BAD_CERTIFICATE (not a plain reset)', async () => {
    const tls = etcd.tls!;
    const err = await codeOf(client({ ca: readFileSync(tls.caFile) }).health(etcd.endpoints[0]!));
    expect(err.code).toBe('TLS_BAD_CERTIFICATE');
  });

  it('real etcd with client-cert-auth, a client certificate from another CA: TLS_BAD_CERTIFICATE', async () => {
    const tls = etcd.tls!;
    const err = await codeOf(
      client({ ca: readFileSync(tls.caFile), cert: certs.client.cert, key: certs.client.key }).health(
        etcd.endpoints[0]!,
      ),
    );
    expect(err.code).toBe('TLS_BAD_CERTIFICATE');
  });

  it('real etcd, --cacert that did not sign its certificate: TLS_CERT_UNTRUSTED', async () => {
    const tls = etcd.tls!;
    const err = await codeOf(
      client({ ca: certs.ca, cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }).health(
        etcd.endpoints[0]!,
      ),
    );
    expect(err.code).toBe('TLS_CERT_UNTRUSTED');
  });

  it('real etcd with the right credentials answers (the control case)', async () => {
    const tls = etcd.tls!;
    const health = await client({
      ca: readFileSync(tls.caFile),
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
    }).health(etcd.endpoints[0]!);
    expect(health.healthy).toBe(true);
  });
});
