import type { MetricFamily, ParsedMetrics } from '../etcd/prom-text.js';

/** One member's parsed /metrics and the labels to add to each of its series. */
export interface ReexposeSource {
  readonly cluster: string;
  readonly member: string;
  readonly metrics: ParsedMetrics;
}

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
  const byFamily = new Map<string, { family: MetricFamily; lines: string[] }>();
  for (const source of sources) {
    const extra = `cluster="${escapeLabel(source.cluster)}",member="${escapeLabel(source.member)}"`;
    for (const family of source.metrics.values()) {
      if (skip.has(family.name) || !allow.some((re) => re.test(family.name))) continue;
      let entry = byFamily.get(family.name);
      if (!entry) {
        entry = { family, lines: [] };
        byFamily.set(family.name, entry);
      }
      for (const sample of family.samples) {
        let labels = extra;
        for (const [name, value] of Object.entries(sample.labels)) {
          if (name === 'cluster' || name === 'member') continue;
          labels += `,${name}="${escapeLabel(value)}"`;
        }
        entry.lines.push(`${sample.name}{${labels}} ${formatValue(sample.value)}`);
      }
    }
  }
  let out = '';
  for (const [name, { family, lines }] of byFamily) {
    out += `# HELP ${name} ${escapeHelp(family.help || 'Re-exposed from etcd members.')}\n# TYPE ${name} ${exposedType(family)}\n`;
    out += lines.join('\n') + '\n';
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

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
