import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { FIELDS } from '../../src/config/fields.js';
import { BenchmarkMetrics } from '../../src/loadgen/metrics.js';
import { createExporterMetrics } from '../../src/expose/registry.js';
import { registerConnectionMetrics } from '../../src/server/connection-limit.js';
import { lookupEtcdSeries } from './etcd-metric-catalog.js';

/** Loosely typed view of the committed dashboard JSON. */
export interface PanelJson {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps?: unknown[] } } };
  targets?: Array<{ expr: string; refId: string; datasource?: { uid?: string }; instant?: boolean }>;
}

export interface DashboardJson {
  uid: string;
  title: string;
  tags: string[];
  schemaVersion: number;
  description?: string;
  links: Array<{ type: string; tags?: string[] }>;
  panels: PanelJson[];
  templating: {
    list: Array<{ name: string; type: string; query: unknown; definition?: string; multi?: boolean }>;
  };
  annotations: { list: Array<{ expr?: string; datasource?: { uid?: string } }> };
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DASHBOARD_DIR = path.join(ROOT, 'dashboards');

/** Every committed dashboard, keyed by file name. */
export function loadDashboards(): Map<string, DashboardJson> {
  const out = new Map<string, DashboardJson>();
  for (const file of readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    out.set(file, JSON.parse(readFileSync(path.join(DASHBOARD_DIR, file), 'utf8')) as DashboardJson);
  }
  return out;
}

/** Every PromQL expression in a dashboard (panel targets, annotations), with where it comes from. */
export function expressions(d: DashboardJson): Array<{ where: string; expr: string; panel?: PanelJson }> {
  const out: Array<{ where: string; expr: string; panel?: PanelJson }> = [];
  for (const p of d.panels) {
    for (const t of p.targets ?? [])
      out.push({ where: `${d.uid} / ${p.title} / ${t.refId}`, expr: t.expr, panel: p });
  }
  for (const a of d.annotations.list) if (a.expr) out.push({ where: `${d.uid} / annotation`, expr: a.expr });
  return out;
}

/** Series Prometheus itself synthesises for every target or alert. */
export const PROMETHEUS_SERIES = new Set([
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'ALERTS',
]);

export type Families = Map<string, { type: string; labels: string[] }>;

async function families(registry: Registry, extraLabels: string[] = []): Promise<Families> {
  const out: Families = new Map();
  for (const m of await registry.getMetricsAsJSON()) {
    const single = registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] };
    out.set(m.name, { type: String(m.type), labels: [...(single?.labelNames ?? []), ...extraLabels] });
  }
  return out;
}

/**
 * Series families etcd-monitor itself exports, with label names, read from the real registries: the
 * exporter's, and the benchmark sidecar's (whose `cluster` label is a target label set by Prometheus).
 */
export async function exporterFamilies(): Promise<Families> {
  const exporter = createExporterMetrics(() => [], { warn: () => undefined }, '0.0.0-test');
  // The HTTP server's series join the runtime registry when the server starts (run-exporter.ts).
  registerConnectionMetrics(exporter.runtime, {
    open: 0,
    dropped: { evicted_idle: 0, over_limit: 0, no_request: 0 },
  });
  const bench = new BenchmarkMetrics();
  return new Map([
    ...(await families(exporter.registry)),
    ...(await families(exporter.runtime)),
    ...(await families(bench.registry, ['cluster'])),
  ]);
}

const REEXPOSE_DEFAULT = FIELDS.reexposeAllow.defaultValue.map((re) => new RegExp(re));

export type SeriesOrigin =
  | { kind: 'exporter'; labels: string[] }
  | { kind: 'etcd' }
  | { kind: 'prometheus' }
  | { kind: 'unknown'; why: string };

/** Where a series name comes from, or why no supported source exports it. */
export function classify(series: string, exporter: Families): SeriesOrigin {
  if (PROMETHEUS_SERIES.has(series)) return { kind: 'prometheus' };
  const own = exporter.get(series) ?? exporter.get(series.replace(/_(bucket|sum|count)$/, ''));
  if (own) return { kind: 'exporter', labels: own.labels };
  const etcd = lookupEtcdSeries(series);
  if (!etcd) return { kind: 'unknown', why: 'neither etcd 3.4–3.6 nor the exporter exports it' };
  const missing = ['3.4', '3.5', '3.6'].filter((_, i) => etcd.availability[i] !== '+');
  if (missing.length > 0)
    return { kind: 'unknown', why: `etcd ${missing.join(', ')} does not export it by default` };
  if (!REEXPOSE_DEFAULT.some((re) => re.test(etcd.name))) {
    return { kind: 'unknown', why: 'the exporter does not re-expose it with the default --reexpose-allow' };
  }
  return { kind: 'etcd' };
}
