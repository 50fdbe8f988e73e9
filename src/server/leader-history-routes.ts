import { Router, type Request } from 'express';
import type { LeaderHistoryStore } from '../history/leader-history.js';
import { HttpError, oneQueryParam } from '../http/errors.js';

/** Default page of GET /cluster/leader/history; `limit` goes up to the store's capacity. */
export const DEFAULT_PAGE = 100;

export interface LeaderHistoryRoutesDeps {
  readonly store: LeaderHistoryStore;
  /** Configured cluster names; the first is the default, as in the other /cluster routes. */
  readonly clusterNames: () => readonly string[];
}

function count(req: Request, name: string, max: number): number | undefined {
  const raw = oneQueryParam(req, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > max)
    throw new HttpError(400, 'BAD_PARAMETER', `${name} must be a whole number from 1 to ${max}`);
  return n;
}

/**
 * GET /cluster/leader/history?cluster=&limit=&before= — the cluster's leader changes, newest first, from the
 * persisted leader history (the last 1000 changes of all clusters). `nextBefore` pages back.
 */
export function createLeaderHistoryRoutes({ store, clusterNames }: LeaderHistoryRoutesDeps): Router {
  const router = Router();
  router.get('/cluster/leader/history', (req, res) => {
    const names = clusterNames();
    const requested = oneQueryParam(req, 'cluster');
    if (requested !== undefined && !names.includes(requested)) {
      throw new HttpError(
        404,
        'UNKNOWN_CLUSTER',
        `no cluster named "${requested}" (known: ${names.join(', ')})`,
      );
    }
    const cluster = requested ?? names[0] ?? '';
    const stats = store.stats();
    const limit = count(req, 'limit', stats.capacity) ?? Math.min(DEFAULT_PAGE, stats.capacity);
    const before = count(req, 'before', Number.MAX_SAFE_INTEGER);
    const changes = store.history({ cluster, limit, ...(before !== undefined ? { before } : {}) });
    res.json({
      cluster,
      count: changes.length,
      nextBefore: changes.length === limit ? (changes.at(-1)?.seq ?? null) : null,
      persistent: stats.persistent,
      changes,
    });
  });
  return router;
}
