import { pino, type Logger } from 'pino';
import type { RequestHandler } from 'express';
import { isMutating, principalOf } from './auth.js';

/**
 * The audit stream: its own pino instance and destination (a file from the web config, or the given stream),
 * so operators can ship and retain it apart from the diagnostic log.
 */
export function createAuditLogger(
  destination: { file?: string; stream?: NodeJS.WritableStream } = {},
): Logger {
  const dest = destination.file
    ? pino.destination({ dest: destination.file, mkdir: true, sync: false })
    : ((destination.stream ?? process.stderr) as pino.DestinationStream);
  return pino(
    { base: { stream: 'audit', service: 'etcd-monitor' }, timestamp: pino.stdTimeFunctions.isoTime },
    dest,
  );
}

/**
 * Records every mutating request once it has been answered: who (principal or "anonymous"), what (method, path),
 * result (status, allowed / denied / failed). Mounted before authentication so refused attempts are recorded
 * too. Headers and bodies are not logged: they may carry credentials.
 */
export function createAuditMiddleware(audit: Logger): RequestHandler {
  return (req, res, next) => {
    if (!isMutating(req.method)) {
      next();
      return;
    }
    const started = performance.now();
    // Routers rewrite req.url while dispatching; the path as the client sent it is kept from here.
    const path = req.originalUrl.split('?')[0];
    res.once('finish', () => {
      const principal = principalOf(res);
      const status = res.statusCode;
      const result = status === 401 || status === 403 ? 'denied' : status >= 400 ? 'failed' : 'ok';
      audit.info(
        {
          who: principal?.name ?? 'anonymous',
          role: principal?.role ?? null,
          auth: principal?.via ?? 'none',
          remote: req.socket.remoteAddress,
          method: req.method,
          path,
          status,
          result,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
        },
        `${req.method} ${path} ${result}`,
      );
    });
    next();
  };
}
