// Helpers of simulated-members.test.ts: what the exporter's output for one cluster looks like with its
// addresses and IDs taken out, and the invariants of one scrape of a member's /metrics.
import type { ParsedMetrics, Sample } from '../../src/protocol/prom-text/types.js';

/** Labels whose values are names or addresses of this cluster and its members: compared as present only. */
const NAMES = new Set(['cluster', 'member', 'instance', 'endpoint', 'cluster_id']);
/** Labels holding a member ID: compared as what the ID is (own, a peer's, or etcd's 0). */
const IDS = new Set(['member_id', 'server_id', 'To', 'From', 'Local', 'Remote']);

export interface SeriesProfile {
  /** Family → its samples' label-name sets (sorted, unique). */
  readonly labelNames: Map<string, string[]>;
  /** Masked series → how many samples have it, and one of them. */
  readonly series: Map<string, { count: number; sample: Sample }>;
}

/** The exporter's series for `cluster`, with names, addresses and IDs replaced by what they are. */
export function seriesProfile(exposed: ParsedMetrics, cluster: string): SeriesProfile {
  const idOf = new Map(
    (exposed.get('etcd_monitor_member_info')?.samples ?? [])
      .filter((s) => s.labels['cluster'] === cluster)
      .map((s) => [s.labels['member'], s.labels['member_id']]),
  );
  const ids = new Set(idOf.values());
  const role = (value: string, member: string | undefined): string =>
    value === '0' ? '0' : value === idOf.get(member) ? 'own' : ids.has(value) ? 'peer' : `unknown ${value}`;
  const labelNames = new Map<string, string[]>();
  const series = new Map<string, { count: number; sample: Sample }>();
  for (const [family, { samples }] of exposed) {
    const mine = samples.filter((s) => s.labels['cluster'] === cluster);
    if (mine.length === 0) continue;
    labelNames.set(family, [...new Set(mine.map((s) => Object.keys(s.labels).sort().join(',')))].sort());
    for (const sample of mine) {
      const labels = Object.entries(sample.labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${NAMES.has(k) ? '*' : IDS.has(k) ? role(v, sample.labels['member']) : v}`);
      const key = `${sample.name}{${labels.join(',')}}`;
      const entry = series.get(key);
      if (entry) entry.count++;
      else series.set(key, { count: 1, sample });
    }
  }
  return { labelNames, series };
}

const labelText = (s: Sample): string =>
  Object.keys(s.labels).length === 0
    ? s.name
    : `${s.name}{${Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',')}}`;

/** Every counter sample and every histogram bucket, _sum and _count, by its line's name and labels. */
export function counterSamples(metrics: ParsedMetrics): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of metrics.values()) {
    if (family.type !== 'counter' && family.type !== 'histogram') continue;
    for (const s of family.samples) out.set(labelText(s), s.value);
  }
  return out;
}

/** Problems of each histogram series: buckets not cumulative, +Inf missing or not equal to _count. */
export function checkHistograms(metrics: ParsedMetrics): string[] {
  const problems: string[] = [];
  for (const family of metrics.values()) {
    if (family.type !== 'histogram') continue;
    const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
    for (const s of family.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      const g = groups.get(key) ?? { buckets: [] };
      groups.set(key, g);
      if (s.name.endsWith('_bucket')) g.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
      else if (s.name.endsWith('_count')) g.count = s.value;
    }
    for (const [key, g] of groups) {
      const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.some(([, v], i) => i > 0 && v < sorted[i - 1]![1]))
        problems.push(`${family.name}${key}: not cumulative`);
      const inf = sorted.at(-1);
      if (inf?.[0] !== Infinity || inf[1] !== g.count)
        problems.push(`${family.name}${key}: +Inf ${inf?.[1]} != _count ${g.count}`);
    }
  }
  return problems;
}
