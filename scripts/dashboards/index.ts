// The dashboard generator. Layout of this folder:
//   spec.ts                   the shape of a dashboard spec (rows, panels, named targets, table columns)
//   render.ts                 spec -> Grafana JSON: layout, ids, variables, links
//   targets.ts                refIds A, B, … from target order; target names checked (unique, set in tables)
//   table.ts                  column settings keyed by target name -> "Value #<refId>" overrides and organize
//   field-config.ts           thresholds and value mappings as Grafana JSON
//   selectors.ts, variables.ts, colours.ts, uids.ts
//                             label selectors, template variables, value maps and thresholds, dashboard uids
//   panel-builders.ts         helpers that make a panel from a few arguments
//   shared-panels.ts          panels that appear on more than one dashboard
//   <dashboard>.ts            one spec per dashboard; the two largest keep their rows in <dashboard>-<part>.ts
//   readme.ts, build.ts       dashboards/README.md, and the command that writes (or --check's) the files
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import prettier from 'prettier';
import { benchmark } from './benchmark.js';
import { clusterOverview } from './cluster-overview.js';
import { renderDashboard } from './render.js';
import type { DashboardSpec } from './spec.js';
import { memberDetail } from './member-detail.js';
import { monitorSelf } from './monitor-self.js';
import { multiCluster } from './multi-cluster.js';
import { renderReadme } from './readme.js';

/** The bundled dashboards; each is written to `dashboards/<uid>.json`. */
export const DASHBOARDS: readonly DashboardSpec[] = [
  clusterOverview,
  memberDetail,
  multiCluster,
  benchmark,
  monitorSelf,
];

/** Repository directory the JSON files are written to. */
export const DASHBOARD_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboards');

/** File name of a dashboard inside {@link DASHBOARD_DIR}. */
export const fileName = (spec: DashboardSpec): string => `${spec.uid}.json`;

/** The JSON text of a dashboard exactly as committed (prettier-formatted, so `prettier --check` passes). */
export async function renderText(spec: DashboardSpec): Promise<string> {
  const file = path.join(DASHBOARD_DIR, fileName(spec));
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(JSON.stringify(renderDashboard(spec)), { ...options, filepath: file });
}

/** Path of the generated README that lists every dashboard and panel. */
export const README = path.join(DASHBOARD_DIR, 'README.md');

/** The README text exactly as committed (prettier-formatted Markdown). */
export async function renderReadmeText(): Promise<string> {
  const options = (await prettier.resolveConfig(README)) ?? {};
  return prettier.format(renderReadme(DASHBOARDS), { ...options, filepath: README });
}
