import type { RequestHandler } from 'express';

/**
 * CORS for the REST API: `origins` lists allowed origins ("*" allows any). Preflights are answered here with
 * 204; without any configured origin no CORS header is ever sent, so browsers keep the same-origin default.
 */
export function createCorsMiddleware(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins.map((o) => o.replace(/\/$/, '')));
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origins.length === 0 || !origin || !(any || allowed.has(origin))) {
      next();
      return;
    }
    res.set('Access-Control-Allow-Origin', any ? '*' : origin);
    res.append('Vary', 'Origin');
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.set('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type');
      res.set('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
