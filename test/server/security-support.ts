import { mkdtemp, rm } from 'node:fs/promises';
import type http from 'node:http';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import express from 'express';
import { openHistoryStore, type HistoryStore } from '../../src/alerts/history-store.js';
import { createAlertRoutes } from '../../src/alerts/routes.js';
import { openLeaderHistory } from '../../src/history/leader-history.js';
import { createLeaderHistoryRoutes } from '../../src/server/leader-history-routes.js';
import { createBenchmarkRoutes } from '../../src/loadgen/api-routes.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { createApp } from '../../src/server/app.js';
import { createHistoryRoutes } from '../../src/server/history-routes.js';
import { createOpenApiRoutes } from '../../src/server/openapi.js';
import { boundPort, createHttpSecurity, type HttpSecurity } from '../../src/server/security/index.js';
import { createLogger } from '../../src/util/logger.js';

export interface ApiServer {
  readonly url: string;
  readonly monitor: Monitor;
  readonly security: HttpSecurity;
  readonly server: http.Server | https.Server;
  /** Audit records written so far (parsed JSON lines), unless a stream was passed in. */
  auditRecords(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface ApiServerOptions {
  readonly endpoints: readonly string[];
  readonly webConfigFile?: string;
  readonly prometheusUrl?: string;
  readonly corsOrigins?: readonly string[];
  readonly auditStream?: NodeJS.WritableStream;
  /** --web.enable-benchmark-api (off by default, as in the exporter). */
  readonly enableBenchmarkApi?: boolean;
}

/**
 * The exporter's real HTTP stack in this process: a Monitor over a real cluster, createApp with every API router
 * (cluster, alerts, benchmark, history, OpenAPI), wrapped in the security middleware and served by the security
 * layer's (possibly TLS) server, the way run-exporter is meant to wire it.
 */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'api-server-'));
  const config = resolveConfig({
    flags: {
      endpoints: opts.endpoints.join(','),
      'cluster-name': 'main',
      'data-dir': dataDir,
      'metrics-interval': '1s',
      'health-check-interval': '1s',
      'api-port': '0',
    },
    env: {},
  });
  const log = createLogger('silent', 'json');
  const monitor = new Monitor(config, log);
  let store: HistoryStore | undefined;
  try {
    await monitor.start();
    store = await openHistoryStore(dataDir, log);
    const leaders = await openLeaderHistory(dataDir, log);
    monitor.onLeaderChange((change) => void leaders.record(change));
    const auditSink = new PassThrough();
    const auditLines: string[] = [];
    auditSink
      .setEncoding('utf8')
      .on('data', (chunk: string) => auditLines.push(...chunk.split('\n').filter(Boolean)));
    const security = createHttpSecurity({
      log,
      ...(opts.webConfigFile ? { webConfigFile: opts.webConfigFile } : {}),
      ...(opts.corsOrigins ? { corsOrigins: opts.corsOrigins } : {}),
      auditStream: opts.auditStream ?? auditSink,
    });
    const inner = createApp({
      monitor,
      log,
      enableBenchmarkApi: opts.enableBenchmarkApi ?? false,
      apiRouters: [
        createAlertRoutes({ log, store }),
        createLeaderHistoryRoutes({ store: leaders, clusterNames: () => monitor.clusterNames() }),
        createBenchmarkRoutes({ config, log }),
        createHistoryRoutes(opts.prometheusUrl ? { prometheusUrl: opts.prometheusUrl } : {}),
        createOpenApiRoutes(),
      ],
    });
    const outer = express();
    outer.disable('x-powered-by');
    for (const mw of security.middleware) outer.use(mw);
    outer.use(inner);
    const server = await security.listen(outer, 0, '127.0.0.1');
    const url = `${security.scheme}://127.0.0.1:${boundPort(server)}`;
    const openStore = store;
    return {
      url,
      monitor,
      security,
      server,
      auditRecords: () => auditLines.map((l) => JSON.parse(l) as Record<string, unknown>),
      close: async () => {
        server.closeAllConnections?.();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await monitor.stop();
        await openStore.close();
        await leaders.close();
        await security.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await monitor.stop();
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
