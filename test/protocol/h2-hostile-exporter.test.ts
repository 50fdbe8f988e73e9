import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { TRANSPORT_ERROR_CODES } from '../../src/util/errors.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { FAST_INTERVALS, startExporter, type ExporterProcess } from '../../harness/exporter.js';
import {
  RESPONSE_HEADERS,
  T,
  frame,
  goaway,
  rst,
  startHostileServer,
  unaryResponse,
  type HostileServer,
  type Peer,
} from '../support/h2-hostile-server.js';
import { waitFor } from '../../harness/processes.js';

// End to end: the real exporter (bin CLI from source) watches a real 3-member etcd plus one "member"
// that is the hostile HTTP/2 server, each connection of which misbehaves differently. Only that member's
// collectors may fail; the process stays up, the real members stay healthy, memory stays bounded. It
// passes with whatever transport the exporter uses for its per-member reads.

/** Each request to the hostile member gets the next of these, round robin. */
const BEHAVIOURS: Array<[string, (peer: Peer, id: number) => void]> = [
  ['short GOAWAY', (p) => p.send(frame(T.GOAWAY, 0, 0, Buffer.alloc(4)))],
  ['short WINDOW_UPDATE', (p) => p.send(frame(T.WINDOW_UPDATE, 0, 0, Buffer.alloc(2)))],
  [
    'CONTINUATION flood',
    (p, id) => {
      const block = Buffer.alloc(16_384, 0x88);
      void p.flood((i) =>
        i === 0
          ? frame(T.HEADERS, 0, id, block)
          : i <= 20_000
            ? frame(T.CONTINUATION, 0, id, block)
            : undefined,
      );
    },
  ],
  ['oversized HEADERS', (p, id) => p.send(frame(T.HEADERS, 4, id, Buffer.alloc(20_000, 0x88)))],
  ['oversized DATA', (p, id) => p.send(frame(T.DATA, 0, id, Buffer.alloc(70_000)))],
  ['bad HPACK', (p, id) => p.send(frame(T.HEADERS, 5, id, Buffer.from([0x80 | 70])))],
  ['RST_STREAM PROTOCOL_ERROR', (p, id) => p.send(rst(id, 0x1))],
  ['RST_STREAM REFUSED_STREAM', (p, id) => p.send(rst(id, 0x7))],
  [
    'GOAWAY mid-flight',
    (p, id) => {
      p.send(goaway(0, 0x2, 'going'), unaryResponse(id));
      setTimeout(() => p.socket.end(), 20);
    },
  ],
  ['silence', () => undefined],
  ['HEADERS then nothing', (p, id) => p.send(frame(T.HEADERS, 4, id, RESPONSE_HEADERS))],
];

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('the exporter with a hostile HTTP/2 server as one member', () => {
  let cluster: EtcdCluster | undefined;
  let hostile: HostileServer | undefined;
  let exporter: ExporterProcess | undefined;
  afterAll(async () => {
    await exporter?.stop();
    await hostile?.close();
    await cluster?.destroy();
  });

  it('only that member’s collectors fail; the process stays up and the real members stay healthy', async () => {
    cluster = await startCluster({ size: 3 });
    hostile = await startHostileServer();
    const h = hostile;
    let requests = 0;
    h.onRequest = (peer, id) => {
      const [, behave] = BEHAVIOURS[requests++ % BEHAVIOURS.length]!;
      behave(peer, id);
    };
    const hostileEndpoint = `http://127.0.0.1:${h.port}`;
    exporter = await startExporter({
      args: [
        '--endpoints',
        [...cluster.endpoints, hostileEndpoint].join(','),
        // No member list names the hostile server: without discovery every endpoint is a member.
        '--discover-members=false',
        '--cluster-name',
        'c1',
        ...FAST_INTERVALS,
      ],
    });
    const ex = exporter;
    const rssStart = rssMiB(ex.proc.pid);
    await waitFor(
      async () => (await ex.sample('etcd_monitor_cluster_members_healthy', { cluster: 'c1' })) === 3,
      {
        what: '3 real members healthy',
        timeoutMs: 30_000,
      },
    );
    // Long enough for the exporter to meet every behaviour at least once (one per new connection).
    await waitFor(async () => requests >= 2 * BEHAVIOURS.length, {
      what: `the exporter to meet every behaviour twice (${2 * BEHAVIOURS.length} requests)`,
      timeoutMs: 30_000,
      intervalMs: 500,
    }).catch(() => undefined);
    const connections = h.peers.length;
    expect(requests, 'requests that reached the hostile member').toBeGreaterThanOrEqual(BEHAVIOURS.length);
    expect(
      connections,
      `the exporter redialled the hostile member after failures (${connections} connections)`,
    ).toBeGreaterThanOrEqual(3);
    process.stdout.write(`hostile member: ${requests} requests on ${connections} connections\n`);

    expect(ex.proc.running).toBe(true);
    expect((await fetch(`${ex.url}/health`)).status).toBe(200);
    await waitFor(
      async () => (await ex.sample('etcd_monitor_cluster_members_healthy', { cluster: 'c1' })) === 3,
      {
        what: 'the real members still healthy',
        timeoutMs: 15_000,
      },
    );
    const text = await ex.metricsText();
    const hostileHost = `127.0.0.1:${h.port}`;
    const successes = [...text.matchAll(/^etcd_monitor_collector_success\{([^}]*)\} (\d)$/gm)].map((m) => ({
      labels: m[1]!,
      value: Number(m[2]),
    }));
    const ofHostile = successes.filter((s) => s.labels.includes(`member="${hostileHost}"`));
    expect(ofHostile.length).toBeGreaterThanOrEqual(2);
    expect(ofHostile.filter((s) => s.value !== 0)).toEqual([]);
    for (const { name: host } of cluster.members) {
      const status = successes.find(
        (s) => s.labels.includes(`member="${host}"`) && s.labels.includes('collector="status"'),
      );
      expect(status?.value, `${host} status collector`).toBe(1);
    }
    // The failures carry stable codes (whichever the exporter's transport found).
    const errors = [...text.matchAll(/^etcd_monitor_collector_errors_total\{([^}]*)\} (\d+)$/gm)]
      .filter((m) => m[1]!.includes(`member="${hostileHost}"`))
      .map((m) => ({ code: /code="([^"]+)"/.exec(m[1]!)?.[1] ?? '', count: Number(m[2]) }));
    expect(errors.reduce((n, e) => n + e.count, 0)).toBeGreaterThan(0);
    for (const e of errors) expect(Object.keys(TRANSPORT_ERROR_CODES)).toContain(e.code);

    // Bounded memory: the CONTINUATION flood (320 MiB offered) held 323 MiB in the issue.
    const rssEnd = rssMiB(ex.proc.pid);
    expect(rssEnd - rssStart, `RSS ${rssStart.toFixed(0)} -> ${rssEnd.toFixed(0)} MiB`).toBeLessThan(150);
    expect(ex.proc.output()).not.toMatch(/uncaught|unhandled/i);
  }, 150_000);
});
