import { labelTextOf } from '../etcd/parse-prom-text.js';
import type { MetricFamily, ParsedMetrics } from '../etcd/prom-text.js';

/** One member's parsed /metrics and the labels to add to each of its series. */
export interface ReexposeSource {
  readonly cluster: string;
  readonly member: string;
  readonly metrics: ParsedMetrics;
}

/** One cluster's re-exposed series, rendered per family so clusters can be merged without re-rendering. */
export type FamilyChunks = ReadonlyMap<string, { readonly family: MetricFamily; readonly text: string }>;

/**
 * Renders members' own series in the text format with `cluster` and `member` added, HELP/TYPE once per
 * family. Done once per collection round (not per scrape): proxying text is far cheaper than feeding
 * ~1,300 samples per member through prom-client objects.
 */
export function renderReexposed(
  sources: readonly ReexposeSource[],
  allow: readonly RegExp[],
  skip: ReadonlySet<string>,
): string {
  return assembleReexposed([renderFamilyChunks(sources, allow, skip)]);
}

/**
 * Renders the sample lines of each family (no HELP/TYPE). The monitor keeps one result per cluster and
 * only re-renders the cluster whose round finished: re-rendering all 30 members after each of 10
 * clusters' rounds cost ≈1 s of event-loop time per interval in bench/exporter-bench.ts.
 */
export function renderFamilyChunks(
  sources: readonly ReexposeSource[],
  allow: readonly RegExp[],
  skip: ReadonlySet<string>,
): FamilyChunks {
  const byFamily = new Map<string, { family: MetricFamily; lines: string[] }>();
  const allowed = new Map<string, boolean>();
  for (const source of sources) {
    const extra = `cluster="${escapeLabel(source.cluster)}",member="${escapeLabel(source.member)}"`;
    for (const family of source.metrics.values()) {
      let ok = allowed.get(family.name);
      if (ok === undefined) {
        ok = !skip.has(family.name) && allow.some((re) => re.test(family.name));
        allowed.set(family.name, ok);
      }
      if (!ok) continue;
      let entry = byFamily.get(family.name);
      if (!entry) {
        entry = { family, lines: [] };
        byFamily.set(family.name, entry);
      }
      for (const sample of family.samples) {
        const own = labelTextOf(sample.labels);
        if (own !== undefined && !('cluster' in sample.labels) && !('member' in sample.labels)) {
          entry.lines.push(`${sample.name}{${own ? `${extra},${own}` : extra}} ${formatValue(sample.value)}`);
          continue;
        }
        let labels = extra;
        for (const name in sample.labels) {
          if (name === 'cluster' || name === 'member') continue;
          labels += `,${name}="${escapeLabel(sample.labels[name] as string)}"`;
        }
        entry.lines.push(`${sample.name}{${labels}} ${formatValue(sample.value)}`);
      }
    }
  }
  const chunks = new Map<string, { family: MetricFamily; text: string }>();
  for (const [name, { family, lines }] of byFamily) {
    chunks.set(name, { family, text: lines.length > 0 ? lines.join('\n') + '\n' : '' });
  }
  return chunks;
}

/** Merges per-cluster chunks into one exposition: every family once, with all clusters' samples under it. */
export function assembleReexposed(parts: readonly FamilyChunks[]): string {
  const merged = new Map<string, { family: MetricFamily; texts: string[] }>();
  for (const part of parts) {
    for (const [name, { family, text }] of part) {
      const entry = merged.get(name);
      if (entry) entry.texts.push(text);
      else merged.set(name, { family, texts: [text] });
    }
  }
  let out = '';
  for (const [name, { family, texts }] of merged) {
    out += `# HELP ${name} ${escapeHelp(family.help || 'Re-exposed from etcd members.')}\n# TYPE ${name} ${exposedType(family)}\n`;
    out += texts.join('');
  }
  return out;
}

/**
 * etcd types a few families against Prometheus' naming rules (raft indexes as gauges named _total,
 * counters without _total). Declaring those untyped keeps names intact for the etcd mixin while
 * `promtool check metrics` stays clean; PromQL treats untyped like a gauge.
 */
export function exposedType(family: MetricFamily): string {
  const total = family.name.endsWith('_total');
  if (family.type === 'counter' && !total) return 'untyped';
  if (family.type !== 'counter' && family.type !== 'untyped' && total) return 'untyped';
  return family.type;
}

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const NEEDS_ESCAPE = /[\\\n"]/;
// Nearly no label value needs escaping; testing first skips three regex replaces per label.
const escapeLabel = (v: string) =>
  NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v;
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
