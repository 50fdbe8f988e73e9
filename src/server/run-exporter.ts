import type { AddressInfo } from 'node:net';
import { openHistoryStore } from '../alerts/history-store.js';
import { createAlertRoutes } from '../alerts/routes.js';
import { registerHistoryMetrics } from '../history/history-metrics.js';
import { openLeaderHistory } from '../history/leader-history.js';
import { resolveConfig } from '../config/resolve.js';
import { Monitor } from '../monitor/monitor.js';
import { createLogger, type Logger } from '../util/logger.js';
import type { MonitorConfig } from '../config/types.js';
import { Router } from 'express';
import { createApp } from './app.js';
import { limitConnections, registerConnectionMetrics } from './connection-limit.js';
import { createHistoryRoutes } from './history-routes.js';
import { createLeaderHistoryRoutes } from './leader-history-routes.js';
import { createOpenApiRoutes } from './openapi.js';
import { stopBenchmarkRuns } from '../loadgen/active-runs.js';
import { createHttpSecurity } from './security/index.js';

/** How long a graceful shutdown may take before the process exits anyway. */
const SHUTDOWN_LIMIT_MS = 5000;

/** Mounts the benchmark API, loading the benchmark engine on its first request rather than at start-up. */
function lazyBenchmarkRoutes(config: MonitorConfig, log: Logger): Router {
  let routes: Promise<Router> | undefined;
  return Router().use((req, res, next) => {
    if (!req.path.startsWith('/performance/')) {
      next();
      return;
    }
    routes ??= import('../loadgen/api-routes.js').then((m) => m.createBenchmarkRoutes({ config, log }));
    routes.then((router) => router(req, res, next), next);
  });
}

/** The `serve` command: load config, start collecting, serve HTTP, stop cleanly on SIGTERM/SIGINT. */
export async function runExporter(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<void> {
  const config = resolveConfig({ flags, env });
  const log = createLogger(config.log.level, config.log.format);
  const monitor = new Monitor(config, log);
  // Neither history can stop the exporter: an unusable --data-dir leaves them in memory only (logged, and
  // etcd_monitor_history_persistent 0).
  const alertHistory = await openHistoryStore(config.dataDir, log, {
    resolveTimeoutMs: config.alerts.resolveTimeoutMs,
  });
  const leaderHistory = await openLeaderHistory(config.dataDir, log);
  monitor.onLeaderChange((change) => void leaderHistory.record(change));
  registerHistoryMetrics(
    monitor.metrics.runtime,
    () => [alertHistory.stats().log, leaderHistory.stats()],
    () => alertHistory.stats(),
  );
  const security = createHttpSecurity({
    ...(config.api.webConfigFile ? { webConfigFile: config.api.webConfigFile } : {}),
    corsOrigins: config.api.corsOrigins,
    log,
  });
  const app = createApp({
    monitor,
    log,
    middleware: security.middleware,
    enableBenchmarkApi: config.api.enableBenchmarkApi,
    apiRouters: [
      createAlertRoutes({ log, store: alertHistory }),
      lazyBenchmarkRoutes(config, log),
      createHistoryRoutes(config.api.prometheusUrl ? { prometheusUrl: config.api.prometheusUrl } : {}),
      createLeaderHistoryRoutes({ store: leaderHistory, clusterNames: () => monitor.clusterNames() }),
      createOpenApiRoutes(),
    ],
  });
  const server = await security.listen(app, config.api.port, config.api.host);
  const connections = limitConnections(server, config.api.maxConnections, log);
  registerConnectionMetrics(monitor.metrics.runtime, connections);
  const { port } = server.address() as AddressInfo;
  log.info(
    {
      url: `${security.scheme}://${config.api.host}:${port}`,
      clusters: config.clusters.map((c) => ({ name: c.name, endpoints: c.endpoints })),
    },
    'etcd-monitor listening',
  );
  // Certificate rotation without a restart, as Prometheus' exporters do.
  process.on('SIGHUP', () => {
    security.reloadTls();
    log.info('reloaded TLS certificate and key');
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS);
    force.unref();
    server.closeAllConnections?.();
    Promise.all([
      new Promise<void>((resolve) => server.close(() => resolve())),
      monitor.stop(),
      alertHistory.close(),
      // An API benchmark run stops and deletes its keys before the process exits.
      stopBenchmarkRuns(),
      leaderHistory.close(),
    ])
      .then(() => {
        security.close();
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      })
      .catch((err) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await monitor.start();
  log.info({ clusters: monitor.clusterNames() }, 'first collection round complete');
}
