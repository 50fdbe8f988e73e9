import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import { Counter, Gauge, type Registry } from 'prom-client';
import { HTTP_SERVER_METRICS } from '../expose/metric-table.js';

/** Default of --web.max-connections, as Prometheus' own flag. */
export const DEFAULT_MAX_CONNECTIONS = 512;

/**
 * A connection must complete its first request's headers within this long. Node's headersTimeout only
 * covers a request that has started: a connection that sends nothing stays open until the client goes
 * (measured on Node 20: a silent socket outlived headersTimeout 2 s by 8 s and more), so 1,100 of them
 * held 1,100 descriptors of the exporter's 1,024 and its probes of etcd failed with EMFILE (issue 12).
 */
export const FIRST_REQUEST_TIMEOUT_MS = 10_000;
/** Node's headersTimeout for later requests on a kept-alive connection (default 60 s). */
const HEADERS_TIMEOUT_MS = 10_000;
/** Whole request (headers and body) in; the exporter's request bodies are a few KB (Alertmanager webhooks). */
const REQUEST_TIMEOUT_MS = 30_000;
/** At most one warning per this long while connections are being dropped. */
const WARN_EVERY_MS = 60_000;

type DropReason = (typeof DROP_REASONS)[number];
const DROP_REASONS = ['evicted_idle', 'over_limit', 'no_request'] as const;

interface Tracked {
  readonly socket: Socket;
  /** Requests in flight on this connection; 0 = idle (before its first request, or kept alive between requests). */
  busy: number;
  timer?: NodeJS.Timeout;
}

/** What the limiter did so far. */
export interface ConnectionStats {
  readonly open: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
}

/**
 * Caps the exporter's own open HTTP connections at `maxConnections` (0 = no cap). A connection over the
 * cap takes the place of the oldest idle one (connected but no request in flight: half-open, silent,
 * or kept alive), so a flood of idle connections cannot lock Prometheus' scrapes or /health out the way
 * a plain accept limit (Prometheus' --web.max-connections, server.maxConnections) would; only when every
 * connection has a request in flight is the new one closed. Connections are keyed by peer address and
 * port, which the raw socket of a TLS connection and its TLSSocket share.
 */
export function limitConnections(
  server: http.Server | https.Server,
  maxConnections: number,
  log: { warn: (obj: object, msg: string) => void },
  firstRequestTimeoutMs = FIRST_REQUEST_TIMEOUT_MS,
): ConnectionStats {
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  const open = new Map<string, Tracked>();
  const dropped: Record<DropReason, number> = { evicted_idle: 0, over_limit: 0, no_request: 0 };
  let lastWarnAt = -Infinity;
  let unreported = 0;
  const key = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;

  const drop = (tracked: Tracked, reason: DropReason) => {
    open.delete(key(tracked.socket));
    clearTimeout(tracked.timer);
    tracked.socket.destroy();
    dropped[reason]++;
    unreported++;
    const now = Date.now();
    if (reason === 'no_request' || now - lastWarnAt < WARN_EVERY_MS) return;
    lastWarnAt = now;
    log.warn(
      { maxConnections, open: open.size, droppedSinceLastWarning: unreported, dropped: { ...dropped } },
      'HTTP connections over --web.max-connections: closing idle ones (connected without a request in flight)',
    );
    unreported = 0;
  };

  server.on('connection', (socket: Socket) => {
    if (maxConnections > 0 && open.size >= maxConnections) {
      const idle = [...open.values()].find((t) => t.busy === 0);
      if (idle) drop(idle, 'evicted_idle');
      else {
        drop({ socket, busy: 0 }, 'over_limit');
        return;
      }
    }
    const tracked: Tracked = { socket, busy: 0 };
    const k = key(socket);
    open.set(k, tracked);
    tracked.timer = setTimeout(() => drop(tracked, 'no_request'), firstRequestTimeoutMs).unref();
    socket.once('close', () => {
      if (open.get(k) !== tracked) return;
      clearTimeout(tracked.timer);
      open.delete(k);
    });
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const tracked = open.get(key(req.socket));
    if (!tracked) return;
    clearTimeout(tracked.timer);
    tracked.busy++;
    res.once('close', () => tracked.busy--);
  });

  return {
    get open() {
      return open.size;
    },
    dropped,
  };
}

/** The limiter's series (HTTP_SERVER_METRICS) on `registry`, read at each render. */
export function registerConnectionMetrics(registry: Registry, stats: ConnectionStats): void {
  const { open, dropped } = HTTP_SERVER_METRICS;
  new Gauge({
    name: open.name,
    help: open.help,
    registers: [registry],
    collect() {
      this.set(stats.open);
    },
  });
  new Counter({
    name: dropped.name,
    help: dropped.help,
    labelNames: [...dropped.labels],
    registers: [registry],
    collect() {
      this.reset();
      for (const reason of DROP_REASONS) this.inc({ reason }, stats.dropped[reason]);
    },
  });
}
