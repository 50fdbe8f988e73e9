import type { ErrorRequestHandler, Request, Response } from 'express';
import { MonitorError } from '../util/errors.js';

// src/http holds the HTTP API plumbing every router shares (server/, alerts/, loadgen/), so that none of
// them imports from another's folder: the one error shape, its status mapping, and the OpenAPI helpers.

/** An error meant for an HTTP client: status, stable code, and a message safe to show (no stack). */
export class HttpError extends MonitorError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The query parameter `name` given once and non-empty, or undefined when absent; anything else is a 400. */
export function oneQueryParam(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new HttpError(400, 'BAD_PARAMETER', `${name} must be given once, non-empty`);
  return v;
}

/** Writes the one JSON error shape of the API: {"error": {"code", "message"}}. */
export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/**
 * Last express handler: known errors keep their status; body-parser errors become 4xx;
 * anything else is a 500 whose details go to the log, never to the client.
 */
export function errorHandler(log: { error: (obj: object, msg: string) => void }): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof HttpError) {
      sendError(res, err.status, err.code, err.message);
      return;
    }
    const status =
      typeof err?.status === 'number'
        ? err.status
        : typeof err?.statusCode === 'number'
          ? err.statusCode
          : 500;
    if (status >= 400 && status < 500) {
      const code =
        err?.type === 'entity.too.large'
          ? 'BODY_TOO_LARGE'
          : err?.type === 'entity.parse.failed'
            ? 'MALFORMED_JSON'
            : 'BAD_REQUEST';
      sendError(
        res,
        status,
        code,
        err?.expose && typeof err.message === 'string' ? err.message : 'bad request',
      );
      return;
    }
    log.error({ err }, 'unhandled error in HTTP handler');
    sendError(res, 500, 'INTERNAL', 'internal error');
  };
}
