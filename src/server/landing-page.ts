import type { Monitor } from '../monitor/monitor.js';
import { VERSION } from '../util/version.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small HTML page linking to /metrics and the API, with one line per cluster. */
export function landingPage(monitor: Monitor): string {
  const rows = monitor
    .states()
    .map(({ view }) => {
      const state = !view.quorumAvailable
        ? 'QUORUM LOST'
        : view.failureTolerance === 0
          ? 'at risk'
          : 'healthy';
      return `<tr><td>${escape(view.cluster)}</td><td>${state}</td><td>${view.membersHealthy}/${view.votingMembers}</td><td>${escape(view.leaderMember ?? '—')}</td></tr>`;
    })
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>etcd-monitor</title></head><body>
<h1>etcd-monitor ${escape(VERSION)}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/health">/health</a> · <a href="/ready">/ready</a> ·
<a href="/api/v1/cluster/status">/api/v1/cluster/status</a> · <a href="/api/v1/cluster/members">/api/v1/cluster/members</a> ·
<a href="/api/v1/metrics/current">/api/v1/metrics/current</a></p>
<table border="1" cellpadding="4"><tr><th>cluster</th><th>state</th><th>healthy members</th><th>leader</th></tr>${rows}</table>
</body></html>`;
}
