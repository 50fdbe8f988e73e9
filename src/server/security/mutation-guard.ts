import type { RequestHandler } from 'express';
import { sendError } from '../../http/errors.js';
import { isMutating } from './auth.js';

/** The media type of a Content-Type header, lower-cased, without parameters (RFC 9110 §8.3.1). */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Guards every POST/PUT/PATCH/DELETE (the Alertmanager webhook included: Alertmanager sends
 * `application/json`) against cross-site requests from a browser:
 * - an `Origin` header must be one of `--cors-origin` ("*" allows any): browsers send Origin on every
 *   cross-origin POST (Fetch standard §3.1), curl, Prometheus and Alertmanager send none. Without
 *   --cors-origin no browser page may mutate anything, not even one served from the exporter's own address,
 *   which also defeats DNS rebinding;
 * - the body must be `application/json`: a form or `text/plain` POST is a "simple request" a page can send
 *   cross-site without a CORS preflight, while `application/json` forces a preflight that only --cors-origin
 *   origins pass. A mutation without a body needs the header too, or a bodyless no-cors POST would get in.
 * Runs before authentication, so a refused request never costs a bcrypt comparison.
 */
export function createMutationGuard(corsOrigins: readonly string[]): RequestHandler {
  const any = corsOrigins.includes('*');
  const allowed = new Set(corsOrigins.map((o) => o.replace(/\/$/, '')));
  return (req, res, next) => {
    if (!isMutating(req.method)) {
      next();
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !any && !allowed.has(origin)) {
      sendError(
        res,
        403,
        'ORIGIN_NOT_ALLOWED',
        `${req.method} from a browser page needs its origin in --cors-origin`,
      );
      return;
    }
    if (mediaTypeOf(req.headers['content-type']) !== 'application/json') {
      sendError(
        res,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `${req.method} ${req.path} accepts only Content-Type: application/json`,
      );
      return;
    }
    next();
  };
}
