import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import zlib from 'node:zlib';
import type { SimMember } from './cluster-state.js';
import { serveGrpc } from './grpc.js';
import { renderMetrics, type MetricsTemplate } from './metrics-template.js';

/**
 * One listener per member on its own loopback address, all feeding one HTTP/2 server (gRPC, h2c) and one
 * HTTP/1.1 server (/metrics, /health, /version), as etcd serves both on its client URL (cmux): a
 * connection whose first bytes are the HTTP/2 preface "PRI * HTTP/2.0" (RFC 9113 §3.4) goes to the
 * first, anything else to the second. Members are told apart by the address a connection arrived on.
 */

/** What a member needs to answer HTTP: its template and IDs [own, peers...] in hex. */
export interface ServedMember {
  readonly member: SimMember;
  readonly template: MetricsTemplate;
  readonly ids: readonly string[];
}

const PREFACE = Buffer.from('PRI ');

export class SimServer {
  private readonly byAddress = new Map<string, ServedMember>();
  private readonly listeners: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly h2 = http2.createServer();
  private readonly h1 = http.createServer((req, res) => this.serveHttp(req, res));

  constructor() {
    this.h2.on('stream', (stream, headers) => {
      const served = this.lookup(stream.session?.socket);
      if (served) serveGrpc(served.member, stream, headers);
      else stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    });
    this.h2.on('sessionError', () => undefined);
    this.h1.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Listens on the member's host at `port`, or on any free port there when `port` is taken. */
  async listen(served: ServedMember, port: number): Promise<number> {
    const { member } = served;
    const server = net.createServer((socket) => this.sniff(socket));
    const bound = await new Promise<number>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        if (err.code !== 'EADDRINUSE' || port === 0) return reject(err);
        server.listen({ host: member.host, port: 0, exclusive: true });
      };
      server.on('error', onError);
      server.once('listening', () => {
        server.off('error', onError);
        resolve((server.address() as net.AddressInfo).port);
      });
      server.listen({ host: member.host, port, exclusive: true });
    });
    this.listeners.push(server);
    this.byAddress.set(`${member.host}:${bound}`, served);
    return bound;
  }

  async close(): Promise<void> {
    await Promise.all(this.listeners.map((s) => new Promise((resolve) => s.close(resolve))));
    for (const socket of this.sockets) socket.destroy();
    this.h1.closeAllConnections();
  }

  private lookup(socket: net.Socket | undefined): ServedMember | undefined {
    return socket ? this.byAddress.get(`${socket.localAddress}:${socket.localPort}`) : undefined;
  }

  private sniff(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < PREFACE.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      if (head.subarray(0, PREFACE.length).equals(PREFACE)) {
        // The session takes what was read back from the socket's buffer (Http2Session reads readableLength).
        this.h2.emit('connection', socket);
      } else {
        this.h1.emit('connection', socket);
        // pause() above outlasts the server's own 'data' listener: flowing must be turned back on.
        socket.resume();
      }
    };
    socket.on('data', onData);
  }

  private serveHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const served = this.lookup(req.socket);
    // The path without a query string (a scrape config's params), as Go's mux matches it.
    const url = (req.url ?? '/').split('?')[0];
    if (!served || req.method !== 'GET') {
      res.writeHead(served ? 405 : 404).end();
      return;
    }
    if (url === '/metrics') {
      const { member } = served;
      const body = renderMetrics(served.template, served.ids, {
        t: (Date.now() - member.metricsEpochMs) / 1000,
        entries: member.cluster.raftIndex - member.cluster.startRaftIndex,
        raftIndex: member.cluster.raftIndex,
        revision: member.cluster.revision,
        calls: member.calls,
        applied: member.cluster.applied,
      });
      // ASCII, as etcd's exposition is: latin1 skips UTF-8 encoding of 150 kB per scrape.
      const bytes = Buffer.from(body, 'latin1');
      const type = { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' };
      // etcd's promhttp handler gzips for a client that accepts it (Prometheus does), so a Prometheus
      // scraping simulated members directly pays for inflating as it would with real ones. Level 1, not
      // Go's default 6: 0.38 instead of 0.83 ms of the simulator's CPU per scrape for 11.5 instead of
      // 10.2 kB (3.4 leader capture), and inflating costs the same either way.
      if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        res.writeHead(200, { ...type, 'Content-Length': bytes.length }).end(bytes);
        return;
      }
      zlib.gzip(bytes, { level: 1 }, (err, gz) => {
        if (err) res.writeHead(500).end();
        else res.writeHead(200, { ...type, 'Content-Encoding': 'gzip', 'Content-Length': gz.length }).end(gz);
      });
    } else if (url === '/health') {
      // etcd 3.4 answers /health with a raft proposal (a v2 QGET; src/derive/health-state.ts), 3.5 does not.
      if (served.template.version.startsWith('3.4.')) served.member.cluster.raftIndex++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(served.template.healthBody);
    } else if (url === '/version') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(served.template.versionBody);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    }
  }
}
