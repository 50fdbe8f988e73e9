import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterSnapshot } from '../collect/snapshot.js';
import type { ClusterView } from '../derive/view.js';
import { describeError } from '../util/errors.js';
import {
  ALL_METRICS,
  REEXPOSE_METRICS,
  RUNTIME_METRICS,
  type MetricDef,
  type OwnMetricDef,
} from './metric-table.js';

/** prom-client options for a series of the table that the process sets itself. */
const own = <L extends string>(def: OwnMetricDef & { labels: readonly L[] }) => ({
  name: def.name,
  help: def.help,
  labelNames: [...def.labels],
});

/** The latest derived state of every cluster, as the registry reads it at scrape time. */
export interface ExposedState {
  readonly view: ClusterView;
  readonly snapshot: ClusterSnapshot;
}

/** Prometheus registry of the exporter plus the probe histogram the monitor observes into. */
export interface ExporterMetrics {
  /**
   * Everything derived from collection rounds (plus build info, tags and probe series): it only
   * changes when a round ends, so Monitor renders it then and scrapes reuse the render.
   */
  readonly registry: Registry;
  /** The exporter process' own runtime series (CPU, memory, event loop, GC): rendered per scrape. */
  readonly runtime: Registry;
  readonly probeDuration: Histogram<'cluster' | 'member' | 'operation'>;
  readonly probeSuccess: Gauge<'cluster' | 'member' | 'operation'>;
  readonly reexposeDropped: Gauge<'cluster' | 'member'>;
}

/** Buckets with edges at 10, 25 and 100 ms so the usual latency targets are judged exactly. */
export const PROBE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Builds the registries. Derived series are rebuilt from the latest state on every render (reset,
 * then set), so members that disappear leave no stale label sets; a failure while building one metric is
 * logged and leaves that metric empty instead of failing the whole scrape.
 */
export function createExporterMetrics(
  getState: () => readonly ExposedState[],
  log: { warn: (obj: object, msg: string) => void },
  version: string,
  clusterTags: Readonly<Record<string, Readonly<Record<string, string>>>> = {},
  shard: { readonly index: number; readonly count: number } = { index: 0, count: 1 },
): ExporterMetrics {
  const registry = new Registry();
  const runtime = new Registry();
  collectDefaultMetrics({ register: runtime, prefix: 'etcd_monitor_' });
  // prom-client exports these gauges with a _total suffix, which Prometheus' lint rejects.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    runtime.removeSingleMetric(`etcd_monitor_nodejs_${name}`);
  }
  for (const def of ALL_METRICS) register(def, registry, getState, log);
  const { buildInfo, probeDuration: duration, probeSuccess: success } = RUNTIME_METRICS;
  new Gauge({ ...own(buildInfo), registers: [registry] }).set(
    { version, nodejs_version: process.version },
    1,
  );
  registerClusterTags(registry, clusterTags);
  new Gauge({ ...own(RUNTIME_METRICS.shardInfo), registers: [registry] }).set(
    { shard_index: String(shard.index), shard_count: String(shard.count) },
    1,
  );
  const probeDuration = new Histogram({ ...own(duration), buckets: PROBE_BUCKETS, registers: [registry] });
  const probeSuccess = new Gauge({ ...own(success), registers: [registry] });
  const reexposeDropped = new Gauge({ ...own(REEXPOSE_METRICS.dropped), registers: [registry] });
  return { registry, runtime, probeDuration, probeSuccess, reexposeDropped };
}

/** Tags from the config file as one info series per cluster, for joins in PromQL (`* on (cluster) group_left`). */
function registerClusterTags(
  registry: Registry,
  clusterTags: Readonly<Record<string, Readonly<Record<string, string>>>>,
): void {
  const keys = [...new Set(Object.values(clusterTags).flatMap((tags) => Object.keys(tags)))]
    .filter((k) => k !== 'cluster')
    .sort();
  const { name, help, labels } = RUNTIME_METRICS.clusterTagsInfo;
  const gauge = new Gauge({ name, help, labelNames: [...labels, ...keys], registers: [registry] });
  for (const [cluster, tags] of Object.entries(clusterTags)) {
    gauge.set({ cluster, ...Object.fromEntries(keys.map((k) => [k, tags[k] ?? ''])) }, 1);
  }
}

function register(
  def: MetricDef,
  registry: Registry,
  getState: () => readonly ExposedState[],
  log: { warn: (obj: object, msg: string) => void },
): void {
  const fill = (metric: Gauge<string> | Counter<string>) => {
    metric.reset();
    try {
      for (const { view, snapshot } of getState()) {
        for (const [labels, value] of def.points(view, snapshot)) {
          if (metric instanceof Gauge) metric.set(labels, value);
          else metric.inc(labels, value);
        }
      }
    } catch (err) {
      log.warn(
        { metric: def.name, err: describeError(err) },
        'could not build metric; leaving it empty this scrape',
      );
      metric.reset();
    }
  };
  const options = { name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
  if (def.type === 'counter') {
    new Counter({
      ...options,
      collect() {
        fill(this);
      },
    });
  } else {
    new Gauge({
      ...options,
      collect() {
        fill(this);
      },
    });
  }
}

/** Both registries as one exposition (for the library API and tests; /metrics serves them apart). */
export async function renderAll(metrics: ExporterMetrics): Promise<string> {
  const [derived, runtime] = await Promise.all([metrics.registry.metrics(), metrics.runtime.metrics()]);
  return derived + runtime;
}
