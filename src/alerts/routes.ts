import express, { type Request, type Response, type Router } from 'express';
import { sendError } from '../server/http-errors.js';
import type { Logger } from '../util/logger.js';
import type { HistoryQuery, HistoryStore } from './history-store.js';
import { logNotification } from './webhook-console.js';
import { parseWebhookPayload, WebhookPayloadError } from './webhook-payload.js';

export interface AlertRoutesDeps {
  log: Logger;
  store: HistoryStore;
}

// One Alertmanager group of a few thousand alerts stays well under this.
const WEBHOOK_BODY_LIMIT = '5mb';
const DEFAULT_HISTORY_LIMIT = 100;

class QueryError extends Error {}

function optionalText(req: Request, name: string): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new QueryError(`"${name}" must be given once, non-empty`);
  return value;
}

function filters(req: Request): Omit<HistoryQuery, 'limit'> {
  const cluster = optionalText(req, 'cluster');
  const alertname = optionalText(req, 'alertname');
  return { ...(cluster !== undefined ? { cluster } : {}), ...(alertname !== undefined ? { alertname } : {}) };
}

function limit(req: Request, max: number): number {
  const raw = optionalText(req, 'limit');
  if (raw === undefined) return Math.min(DEFAULT_HISTORY_LIMIT, max);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max)
    throw new QueryError(`"limit" must be a whole number from 1 to ${max}`);
  return value;
}

function withQuery(res: Response, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof QueryError) sendError(res, 400, 'INVALID_QUERY', err.message);
    else throw err;
  }
}

/**
 * Alert routes, mounted under /api/v1: POST /alerts/webhook (Alertmanager's webhook receiver; records
 * history and logs each notification), GET /alerts (firing now), GET /alerts/history?limit=&cluster=&alertname=.
 */
export function createAlertRoutes({ log, store }: AlertRoutesDeps): Router {
  const router = express.Router();
  const alog = log.child({ component: 'alerts' });

  router.post('/alerts/webhook', express.json({ limit: WEBHOOK_BODY_LIMIT }), async (req, res) => {
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
    logNotification(alog, payload);
    const { events, persisted } = await store.record(payload);
    res.json({ status: 'ok', recorded: events.length, persisted });
  });

  router.get('/alerts', (req, res) => {
    withQuery(res, () => {
      const alerts = store.firing(filters(req));
      res.json({ count: alerts.length, alerts });
    });
  });

  router.get('/alerts/history', (req, res) => {
    withQuery(res, () => {
      const stats = store.stats();
      const events = store.history({ ...filters(req), limit: limit(req, stats.capacity) });
      res.json({
        count: events.length,
        capacity: stats.capacity,
        corruptLinesSkipped: stats.corruptLinesSkipped,
        persistFailures: stats.persistFailures,
        events,
      });
    });
  });

  return router;
}
