import type { RequestHandler } from 'express';
import { clusterStatusJson } from '../../monitor/cluster-status.js';
import type { Monitor } from '../../monitor/monitor.js';
import { VERSION } from '../../util/version.js';
import { membersJson } from '../cluster-routes.js';
import { principalOf, roleAllows } from '../security/auth.js';
import { STATUS_PAGE_CSP, statusPage } from './page.js';
import type { ClusterData, StatusJson } from './types.js';

/** What the first paint says for the parts only the browser's first poll fills in. */
const LOADING = { unavailable: 'loading (needs JavaScript)' };

/**
 * The cards as the REST API would answer for them right now: status and members from the same builders as
 * GET /cluster/status and /cluster/members; histories, alerts and benchmark come with the first poll.
 */
export function statusPageClusters(monitor: Monitor): ClusterData[] {
  return monitor.clusterNames().map((name) => {
    const state = monitor.states().find((s) => s.view.cluster === name);
    const notReady = { unavailable: 'the first collection round has not finished yet' };
    return {
      name,
      status: state ? (clusterStatusJson(state.view) as unknown as StatusJson) : notReady,
      members: state ? membersJson(state.view, state.snapshot).members : notReady,
      leaderChanges: LOADING,
      alerts: LOADING,
      benchmark: LOADING,
    };
  });
}

/** GET /: the status page, behind the same authentication as the API (requiredRole treats / as a read). */
export function statusPageRoute(monitor: Monitor, enableBenchmarkApi: boolean): RequestHandler {
  // One poll per collection round: a member's state can change no faster than the faster of the two rounds.
  const intervalMs = Math.min(monitor.config.healthCheckIntervalMs, monitor.config.metricsIntervalMs);
  return (_req, res) => {
    // The benchmark API needs the operator role: a viewer's page does not ask for it (a 403 per poll).
    const role = principalOf(res)?.role ?? 'admin';
    res.set('Content-Security-Policy', STATUS_PAGE_CSP);
    res.set('X-Content-Type-Options', 'nosniff');
    res.set('Referrer-Policy', 'no-referrer');
    res.set('Cache-Control', 'no-store');
    res.type('html').send(
      statusPage({
        version: VERSION,
        clusters: statusPageClusters(monitor),
        intervalMs,
        benchmark: enableBenchmarkApi && roleAllows(role, 'operator'),
        now: new Date().toISOString(),
      }),
    );
  };
}
