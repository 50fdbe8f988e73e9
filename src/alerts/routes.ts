import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { sendError } from '../http/errors.js';
import type { Logger } from '../util/logger.js';
import { WATCHDOG_ALERTNAMES, type HistoryQuery, type HistoryStore } from './history-store.js';
import { logNotification } from './webhook-console.js';
import { parseWebhookPayload, WebhookPayloadError } from './webhook-payload.js';

export interface AlertRoutesDeps {
  log: Logger;
  store: HistoryStore;
}

/**
 * One notification of MAX_ALERTS_PER_NOTIFICATION (10,000) typical alerts is ≈4.5 MB. Larger bodies get
 * 413; Alertmanager's `max_alerts` on the receiver keeps real notifications far below.
 */
export const WEBHOOK_BODY_LIMIT_BYTES = 5 * 1024 * 1024;
/**
 * Notifications parsed at once; the rest wait unread (their bytes stay in the socket), so a burst of large
 * bodies costs at most this many parsed bodies of memory (≈40 MB each at the limit).
 */
const WEBHOOK_CONCURRENCY = 2;
const WEBHOOK_MAX_WAITING = 64;
/** Default page of GET /alerts and /alerts/history; `limit` goes up to MAX_PAGE. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

class QueryError extends Error {}

function optionalText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new QueryError(`"${name}" must be given once, non-empty`);
  return value;
}

function wholeNumber(req: Request, name: string, min: number, max: number): number | undefined {
  const raw = optionalText(req, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max)
    throw new QueryError(`"${name}" must be a whole number from ${min} to ${max}`);
  return value;
}

function query(req: Request, maxLimit: number): HistoryQuery & { limit: number } {
  const cluster = optionalText(req, 'cluster');
  const alertname = optionalText(req, 'alertname');
  const before = wholeNumber(req, 'before', 1, Number.MAX_SAFE_INTEGER);
  return {
    ...(cluster !== undefined ? { cluster } : {}),
    ...(alertname !== undefined ? { alertname } : {}),
    ...(before !== undefined ? { before } : {}),
    limit: wholeNumber(req, 'limit', 1, maxLimit) ?? Math.min(DEFAULT_PAGE, maxLimit),
  };
}

function withQuery(res: Response, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof QueryError) sendError(res, 400, 'INVALID_QUERY', err.message);
    else throw err;
  }
}

/** The cursor of the next page: the seq of the last item when the page is full, else null. */
const nextBefore = (page: readonly { seq: number }[], limit: number): number | null =>
  page.length === limit ? (page.at(-1)?.seq ?? null) : null;

/** Lets `max` requests through at once; up to `maxWaiting` more wait, the rest get 503. */
function concurrencyGate(max: number, maxWaiting: number): RequestHandler {
  let active = 0;
  const waiting: (() => void)[] = [];
  const pump = (): void => {
    while (active < max && waiting.length > 0) waiting.shift()?.();
  };
  return (_req, res, next) => {
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    const start = (): void => {
      state = 'running';
      active++;
      next();
    };
    // Listened for from the start, so a client that goes away while waiting leaves the queue, and a
    // finished one frees its slot, whatever happened in between.
    res.once('close', () => {
      if (state === 'running') active--;
      else {
        const i = waiting.indexOf(start);
        if (i >= 0) waiting.splice(i, 1);
      }
      state = 'done';
      pump();
    });
    if (active < max) start();
    else if (waiting.length < maxWaiting) waiting.push(start);
    else {
      res.set('Retry-After', '1');
      sendError(res, 503, 'BUSY', 'too many alert notifications at once; retry');
    }
  };
}

/**
 * Alert routes, mounted under /api/v1: POST /alerts/webhook (Alertmanager's webhook receiver; records
 * history and logs each notification), GET /alerts (firing now) and GET /alerts/history, both paged
 * newest first with ?limit= (default 100, at most 1000) and ?before=<seq> (the previous page's nextBefore).
 */
export function createAlertRoutes({ log, store }: AlertRoutesDeps): Router {
  const router = express.Router();
  const alog = log.child({ component: 'alerts' });

  router.post(
    '/alerts/webhook',
    concurrencyGate(WEBHOOK_CONCURRENCY, WEBHOOK_MAX_WAITING),
    express.json({ limit: WEBHOOK_BODY_LIMIT_BYTES }),
    async (req, res) => {
      if (!req.is('application/json')) {
        sendError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'send the notification as application/json');
        return;
      }
      let payload;
      try {
        payload = parseWebhookPayload(req.body);
      } catch (err) {
        if (!(err instanceof WebhookPayloadError)) throw err;
        alog.warn({ path: err.path, err: err.message }, 'rejected an invalid alert notification');
        sendError(res, 400, err.code, err.message);
        return;
      }
      req.body = undefined;
      // A watchdog arrives every minute when misrouted; it is counted (etcd_monitor_alerts_ignored_total), not logged.
      if (!payload.alerts.every((a) => WATCHDOG_ALERTNAMES.includes(a.labels.alertname ?? '')))
        logNotification(alog, payload);
      const result = await store.record(payload);
      if (!result.persisted && !result.memoryOnly) {
        // Alertmanager retries a notification answered 5xx; its retry repeats alerts we now hold in memory,
        // which only refreshes them and writes what is still pending.
        sendError(
          res,
          503,
          'HISTORY_WRITE_FAILED',
          `the alert history could not be written (${result.error ?? 'unknown error'}); retry`,
        );
        return;
      }
      res.json({
        status: 'ok',
        recorded: result.events.length,
        refreshed: result.refreshed,
        ignored: result.ignored,
        persisted: result.persisted,
        ...(result.memoryOnly ? { warning: 'no usable --data-dir: the history is kept in memory only' } : {}),
      });
    },
  );

  router.get('/alerts', (req, res) => {
    withQuery(res, () => {
      const q = query(req, MAX_PAGE);
      const { alerts, total } = store.firing(q);
      res.json({ count: alerts.length, total, nextBefore: nextBefore(alerts, q.limit), alerts });
    });
  });

  router.get('/alerts/history', (req, res) => {
    withQuery(res, () => {
      const stats = store.stats();
      const q = query(req, Math.min(MAX_PAGE, stats.log.capacity));
      const events = store.history(q);
      res.json({
        count: events.length,
        capacity: stats.log.capacity,
        nextBefore: nextBefore(events, q.limit),
        persistent: stats.log.persistent,
        corruptLinesSkipped: stats.log.corruptLinesSkipped,
        writeFailures: stats.log.writeFailures,
        events,
      });
    });
  });

  return router;
}
