import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import { freePort } from '../../harness/free-port.js';
import { waitFor } from '../../harness/processes.js';
import { generateFaultyTls } from '../support/tls-faults.js';

// A 3-member etcd cluster whose member list sends the exporter to two places it cannot read: member 1
// advertises an https client URL served by a TLS listener with an expired certificate, member 2 a
// loopback port nothing listens on. The real exporter process must say why, per member and collector,
// in /metrics (etcd_monitor_collector_errors_total{code}) and in the members API; member 0 has no error.

const CLUSTER = 'error-codes';
let etcd: EtcdCluster;
let exporter: ExporterProcess;
let tlsListener: net.Server;
let dir: string;
let expiredUrl: string;
let closedUrl: string;
const sockets = new Set<net.Socket>();

interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Every sample of `name` in an exposition (labels without escapes: ours never have any here). */
function samples(text: string, name: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => {
      const close = line.lastIndexOf('}');
      const labels = Object.fromEntries(
        [...line.slice(name.length + 1, close).matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
      );
      return { labels: labels as Record<string, string>, value: Number(line.slice(close + 1)) };
    });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'error-codes-'));
  const certs = await generateFaultyTls(dir);
  tlsListener = tls.createServer({ ...certs.expired }, (s) => s.on('error', () => {}));
  tlsListener.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => tlsListener.listen(0, '127.0.0.1', resolve));
  expiredUrl = `https://127.0.0.1:${(tlsListener.address() as net.AddressInfo).port}`;
  closedUrl = `http://127.0.0.1:${await freePort()}`;
  etcd = await startCluster({
    size: 3,
    advertiseClientUrl: (index, listen) => (index === 1 ? expiredUrl : index === 2 ? closedUrl : listen),
  });
  exporter = await startExporter({
    args: [
      '--endpoints',
      etcd.endpoints[0] as string,
      '--cluster-name',
      CLUSTER,
      // The CA that signed the expired certificate: the only thing wrong with it is its age.
      '--cacert',
      certs.caFile,
      ...FAST_INTERVALS,
    ],
  });
}, 120_000);

afterAll(async () => {
  await exporter?.stop();
  await etcd?.destroy();
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => (tlsListener ? tlsListener.close(() => resolve()) : resolve()));
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('the exporter says why it cannot read a member', () => {
  it('counts TLS_CERT_EXPIRED and CONNECTION_REFUSED for those members only, and the members API shows the codes', async () => {
    const healthy = etcd.members[0]!.name;
    const expired = etcd.members[1]!.name;
    const refused = etcd.members[2]!.name;
    const text = await waitFor(
      async () => {
        const t = await exporter.metricsText();
        const errors = samples(t, 'etcd_monitor_collector_errors_total');
        const has = (member: string, code: string, collector: string) =>
          errors.some(
            (s) =>
              s.labels.member === member &&
              s.labels.code === code &&
              s.labels.collector === collector &&
              s.value >= 2,
          );
        return ['metrics', 'health', 'status'].every(
          (c) => has(expired, 'TLS_CERT_EXPIRED', c) && has(refused, 'CONNECTION_REFUSED', c),
        )
          ? t
          : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 500, what: 'TLS_CERT_EXPIRED and CONNECTION_REFUSED to be counted' },
    );
    const errors = samples(text, 'etcd_monitor_collector_errors_total');
    const byMember = (m: string) => errors.filter((s) => s.labels.member === m);
    expect(byMember(healthy), 'the reachable member has no failed collector run').toEqual([]);
    // Every error of the refused member is a refusal, whatever the collector (HTTP, gRPC reads, probe).
    expect(new Set(byMember(refused).map((s) => s.labels.code))).toEqual(new Set(['CONNECTION_REFUSED']));
    // The TLS member: every collector (undici for /metrics and /health, HTTP/2 for the gRPC calls)
    // reports the certificate, none a refusal or an unknown failure.
    expect(new Set(byMember(expired).map((s) => s.labels.code))).toEqual(new Set(['TLS_CERT_EXPIRED']));
    expect(errors.every((s) => s.labels.cluster === CLUSTER)).toBe(true);
    expect(text).toContain('# TYPE etcd_monitor_collector_errors_total counter');

    const { status, body } = await exporter.json<{
      members: {
        name: string;
        last_error: { collector: string; code: string; message: string; at: string } | null;
        collectors: Record<string, { ok: boolean; code?: string; message?: string; errors_total: number }>;
      }[];
    }>(`/api/v1/cluster/members?cluster=${CLUSTER}`);
    expect(status).toBe(200);
    const member = (name: string) => body.members.find((m) => m.name === name)!;
    expect(member(healthy).last_error).toBeNull();
    expect(member(healthy).collectors.status).toMatchObject({ ok: true, errors_total: 0 });
    expect(member(expired).collectors.health).toMatchObject({ ok: false, code: 'TLS_CERT_EXPIRED' });
    expect(member(expired).collectors.status).toMatchObject({ ok: false, code: 'TLS_CERT_EXPIRED' });
    expect(member(expired).collectors.metrics!.errors_total).toBeGreaterThanOrEqual(2);
    expect(member(expired).last_error?.code).toBe('TLS_CERT_EXPIRED');
    expect(member(refused).last_error?.code).toBe('CONNECTION_REFUSED');
    expect(member(refused).collectors.metrics).toMatchObject({ ok: false, code: 'CONNECTION_REFUSED' });
  });
});
