import express, { type RequestHandler, type Router } from 'express';
import { acceptsGzip, metricsBody, prepareOwn, shareRecent } from '../expose/exposition-cache.js';
import type { Monitor } from '../monitor/monitor.js';
import type { Logger } from '../util/logger.js';
import { createClusterRoutes } from './cluster-routes.js';
import { errorHandler, sendError } from '../http/errors.js';
import { statusPageRoute } from './status-page/route.js';

/** What the HTTP layer needs; extra API routers (alerts, benchmark, ...) are mounted under /api/v1. */
export interface AppDeps {
  readonly monitor: Monitor;
  readonly log: Logger;
  readonly apiRouters?: readonly Router[];
  /** Runs before every route: request log, CORS, audit, authentication (see src/server/security). */
  readonly middleware?: readonly RequestHandler[];
  /** --web.enable-benchmark-api: without it /api/v1/performance/* answers 403 BENCHMARK_API_DISABLED. */
  readonly enableBenchmarkApi?: boolean;
}

/** How long one render of the exporter's runtime series (CPU, memory, GC) is shared between scrapes. */
const RUNTIME_METRICS_MAX_AGE_MS = 1000;

/** Builds the express app: /metrics, /health, /ready, the status page at /, and the REST API. */
export function createApp({
  monitor,
  log,
  apiRouters = [],
  middleware = [],
  enableBenchmarkApi = false,
}: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  for (const handler of middleware) app.use(handler);

  // The live status page (src/server/status-page): cards rendered here, kept current by polling /api/v1.
  app.get('/', statusPageRoute(monitor, enableBenchmarkApi));

  const runtimeMetrics = shareRecent(
    async () => prepareOwn(await monitor.metrics.runtime.metrics()),
    RUNTIME_METRICS_MAX_AGE_MS,
  );
  // A scrape normally renders nothing big: the re-exposed and derived blocks were rendered when the
  // last round ended (and gzipped by the first scrape that wanted it); only the small runtime part is
  // rendered here.
  app.get('/metrics', async (req, res, next) => {
    try {
      const runtime = await runtimeMetrics();
      const body = await metricsBody(
        runtime,
        await monitor.exposition(),
        acceptsGzip(req.headers['accept-encoding']),
      );
      res.set('Content-Type', monitor.metrics.registry.contentType);
      res.set('Vary', 'Accept-Encoding');
      if (body.encoding) res.set('Content-Encoding', body.encoding);
      res.set('Content-Length', String(body.length));
      // Written as-is: the cached block is never copied into one big string or buffer per scrape.
      for (const chunk of body.chunks.slice(0, -1)) res.write(chunk);
      res.end(body.chunks.at(-1));
    } catch (err) {
      next(err);
    }
  });

  // Liveness of the exporter process itself, never of etcd: a sick cluster must not get us restarted.
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/ready', (_req, res) => {
    if (monitor.ready) res.json({ status: 'ready', clusters: monitor.clusterNames() });
    else sendError(res, 503, 'NOT_READY', 'the first collection round has not finished yet');
  });

  if (!enableBenchmarkApi) {
    // The benchmark writes to the watched cluster, so it is off unless asked for, as Prometheus keeps its
    // admin API behind --web.enable-admin-api. Prometheus 2.42 answers a disabled admin API with 500
    // "admin APIs disabled" and a disabled lifecycle API (--web.enable-lifecycle) with 403; 403 is the one
    // that says "refused, not broken" (a 5xx would be retried and page), so that is what this answers.
    // Mounted after authentication: with credentials configured an anonymous caller still gets 401 first.
    app.use('/api/v1/performance', (_req, res) => {
      sendError(
        res,
        403,
        'BENCHMARK_API_DISABLED',
        'the benchmark API is off; start the exporter with --web.enable-benchmark-api to enable it',
      );
    });
  }

  const api = express.Router();
  // No body parser here: each router parses its own bodies with a limit that fits what it accepts.
  api.use(createClusterRoutes(monitor));
  for (const router of apiRouters) api.use(router);
  app.use('/api/v1', api);

  app.use((req, res) => {
    sendError(res, 404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });
  app.use(errorHandler(log));
  return app;
}
