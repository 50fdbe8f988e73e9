import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import { createExporterMetrics, PROBE_BUCKETS } from '../../src/expose/registry.js';
import { renderRules } from '../../src/alerts/rules/render.js';
import { peerRttEdge } from '../../src/alerts/rules/promql.js';
import { defaultSettings } from '../../src/alerts/rules/settings.js';
import { ROOT } from './rules-support.js';

/**
 * The rules must query series that really exist: the exporter's own (from its metric table and registry)
 * and etcd's re-exposed ones (names and labels as etcd 3.4 serves them, plus the cluster/member labels the
 * exporter adds). A renamed metric would otherwise leave an alert silently unable to fire.
 */
const ADDED_BY_PROMETHEUS = ['job', 'instance'];
const ADDED_BY_REEXPOSE = ['cluster', 'member'];

/** Label names per exporter metric family. */
function exporterFamilies(): Map<string, string[]> {
  const families = new Map<string, string[]>(ALL_METRICS.map((m) => [m.name, [...m.labels]]));
  const { registry } = createExporterMetrics(() => [], { warn: () => {} }, 'test');
  for (const metric of registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[] }[]) {
    families.set(metric.name, [
      ...new Set([...(families.get(metric.name) ?? []), ...(metric.labelNames ?? [])]),
    ]);
  }
  const probe = families.get('etcd_monitor_probe_duration_seconds');
  if (probe) families.set('etcd_monitor_probe_duration_seconds', [...probe, 'le']);
  return families;
}

/** Label names per series name in etcd 3.4's real /metrics output (leader and follower). */
function etcdSeries(): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const file of ['leader-metrics.txt', 'follower-metrics.txt']) {
    const text = readFileSync(join(ROOT, 'test/fixtures/etcd-3.4', file), 'utf8');
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? /.exec(line);
      if (!match) continue;
      const labels = series.get(match[1] as string) ?? new Set<string>();
      for (const pair of (match[3] ?? '').matchAll(/([a-zA-Z_]+)="/g)) labels.add(pair[1] as string);
      series.set(match[1] as string, labels);
    }
  }
  return series;
}

/** Strips histogram suffixes so the exporter's family name is found. */
const family = (name: string): string => name.replace(/_(bucket|count|sum)$/, '');

const exprs = renderRules()
  .groups.flatMap((g) => g.rules)
  .map((r) => ('alert' in r ? { name: r.alert, expr: r.expr } : { name: r.record, expr: r.expr }));

describe('metric names and labels used by the rules', () => {
  it('exist in the exporter or in etcd 3.4 output', () => {
    const exporter = exporterFamilies();
    const etcd = etcdSeries();
    const missing: string[] = [];
    for (const { name, expr } of exprs) {
      for (const match of expr.matchAll(
        /(?<![a-zA-Z0-9_:])((?:etcd_|grpc_server_|process_|os_fd_)[a-z0-9_]+)(?![a-zA-Z0-9_:])(\{([^}]*)\})?/g,
      )) {
        const metric = match[1] as string;
        const matchers = [...(match[3] ?? '').matchAll(/([a-zA-Z_]+)\s*(=~|!=|!~|=)/g)].map(
          (m) => m[1] as string,
        );
        let labels: string[] | undefined;
        if (metric.startsWith('etcd_monitor_')) {
          labels = exporter.get(family(metric));
        } else if (etcd.has(metric)) {
          labels = [...(etcd.get(metric) as Set<string>), ...ADDED_BY_REEXPOSE];
        }
        if (!labels) {
          missing.push(`${name}: ${metric} is neither exported nor in etcd 3.4's /metrics`);
          continue;
        }
        for (const label of matchers) {
          if (!labels.includes(label)) missing.push(`${name}: ${metric} has no label ${label}`);
        }
      }
      for (const match of expr.matchAll(/by \(([^)]*)\) \(((?:[a-z_]+\()*)([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) {
        const metric = match[3] as string;
        // Recording rules and nested aggregations (`sum by (…) (max by (…) (…))`) are checked at their own level.
        if (!/^(etcd_|grpc_server_|process_|os_fd_)/.test(metric)) continue;
        const known = metric.startsWith('etcd_monitor_')
          ? exporter.get(family(metric))
          : [...(etcd.get(metric) ?? []), ...ADDED_BY_REEXPOSE];
        for (const label of (match[1] as string).split(',').map((l) => l.trim())) {
          if (![...(known ?? []), ...ADDED_BY_PROMETHEUS].includes(label)) {
            missing.push(`${name}: aggregates ${metric} by ${label}, which it does not carry`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('judge the probe latency threshold at an exact bucket edge of the exporter histogram', () => {
    expect(PROBE_BUCKETS).toContain(defaultSettings().maxLatencyMs / 1000);
  });

  it('judge slow peer round trips at a bucket edge etcd really exports', () => {
    const edge = peerRttEdge(defaultSettings().peerRttSeconds);
    const text = readFileSync(join(ROOT, 'test/fixtures/etcd-3.4/leader-metrics.txt'), 'utf8');
    expect(text).toContain(`etcd_network_peer_round_trip_time_seconds_bucket{To=`);
    expect(text).toMatch(
      new RegExp(`etcd_network_peer_round_trip_time_seconds_bucket\\{To="[0-9a-f]+",le="${edge}"\\}`),
    );
  });
});
