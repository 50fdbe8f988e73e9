import type { RequestHandler } from 'express';
import type { Logger } from '../../util/logger.js';
import { principalOf } from './auth.js';

/**
 * One debug line per request (info for 5xx-free mutations is the audit log's job): method, path, status, time,
 * principal. Never the query string's values or headers, which may carry tokens.
 */
export function createRequestLogger(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    const path = req.originalUrl.split('?')[0];
    res.once('finish', () => {
      const status = res.statusCode;
      const entry = {
        method: req.method,
        path,
        status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        who: principalOf(res)?.name,
      };
      if (status >= 500) log.warn(entry, 'http request failed');
      else log.debug(entry, 'http request');
    });
    next();
  };
}
