import { createHash } from 'node:crypto';
import { CLIENT_SCRIPT } from './client.js';
import { esc, renderClusters } from './render.js';
import type { ClusterData } from './types.js';

/*
 * The status page at `/`: server-rendered cards (./render.ts) plus one inline script (./client.ts) that polls
 * the JSON API every collection round. Script and style are constant, so the Content-Security-Policy names
 * them by hash (CSP Level 3 §8.4): nothing else may run — no inline handlers, no injected <script>, no
 * connections but to this origin.
 */

const STYLE = `
:root { color-scheme: light; font-family: system-ui, sans-serif; color: #1a1a1a; background: #f6f7f9; }
body { margin: 0 auto; max-width: 80rem; padding: 1rem; line-height: 1.4; }
a { color: #0b4f9c; }
:focus-visible { outline: 3px solid #0b4f9c; outline-offset: 2px; }
header h1 { margin: 0 0 .25rem; font-size: 1.6rem; }
nav ul { list-style: none; padding: 0; margin: 0 0 1rem; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
#updated { color: #333; }
.stale #updated { color: #8a0010; font-weight: bold; }
.stale #clusters { opacity: .7; }
.card { background: #fff; border: 1px solid #c8ccd2; border-left: .6rem solid #6b7280; border-radius: .4rem;
  padding: .75rem 1rem; margin: 1rem 0; }
.card.ok { border-left-color: #1e7b34; } .card.warn { border-left-color: #b07800; } .card.crit { border-left-color: #b00020; }
.card h2 { margin: 0; font-size: 1.3rem; } .card h3 { font-size: 1rem; margin: 1rem 0 .25rem; }
.why { margin: .25rem 0 .5rem; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .25rem; font-weight: bold; border: 1px solid; }
.badge.ok { color: #0b5d1e; background: #e3f4e6; } .badge.warn { color: #6b4500; background: #fff1c2; }
.badge.crit { color: #8a0010; background: #fde2e4; } .badge.unknown { color: #333; background: #eceef1; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(19rem, 1fr)); gap: .25rem 1.5rem; margin: 0; }
.facts div { display: flex; gap: .5rem; } .facts dt { font-weight: bold; min-width: 8rem; } .facts dd { margin: 0; }
.scroll { overflow-x: auto; margin-top: .75rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; font-weight: bold; padding: .25rem 0; }
th, td { border: 1px solid #c8ccd2; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #eceef1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.crit th[scope=row] { box-shadow: inset .3rem 0 #b00020; } tr.warn th[scope=row] { box-shadow: inset .3rem 0 #b07800; }
.muted { color: #4a4f57; } code { font-size: .85rem; }
#changes { font-size: .9rem; }
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The page's Content-Security-Policy: only its own script and style, fetches only to this origin. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(CLIENT_SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  // Only the empty favicon below: without it the browser asks for /favicon.ico, a 404 on every visit.
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface StatusPageOptions {
  readonly version: string;
  readonly clusters: readonly ClusterData[];
  /** How often the page polls: one collection round. */
  readonly intervalMs: number;
  /** Whether the viewer may read GET /api/v1/performance/benchmark (API on, operator role). */
  readonly benchmark: boolean;
  /** When the server rendered it (ISO 8601). */
  readonly now: string;
}

const LINKS = [
  '/metrics',
  '/health',
  '/ready',
  '/api/v1/clusters',
  '/api/v1/cluster/status',
  '/api/v1/cluster/members',
  '/api/v1/alerts',
  '/api/v1/openapi.json',
];

/** The whole HTML document. */
export function statusPage(o: StatusPageOptions): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>etcd-monitor status</title><link rel="icon" href="data:,"><style>${STYLE}</style></head>
<body><header><h1>etcd-monitor ${esc(o.version)}</h1>
<nav aria-label="Endpoints"><ul>${LINKS.map((l) => `<li><a href="${l}">${l}</a></li>`).join('')}</ul></nav></header>
<main id="status" data-interval-ms="${esc(o.intervalMs)}" data-benchmark="${o.benchmark ? 'on' : 'off'}">
<p id="updated">Rendered by the server at ${esc(o.now.replace('T', ' ').slice(0, 19))} UTC; updates every ${esc(o.intervalMs / 1000)} s.</p>
<noscript><p>JavaScript is off: this page does not update itself; reload it to refresh.</p></noscript>
<div id="clusters">${renderClusters(o.clusters)}</div>
<section aria-labelledby="changes-h"><h2 id="changes-h">Changes seen since this page was opened</h2>
<ol id="changes" aria-live="polite" aria-relevant="additions"></ol></section>
</main>
<script>${CLIENT_SCRIPT}</script>
</body></html>`;
}
