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
    const used = grpcMethodsServed(source.metrics);
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
      const perMethod = GRPC_PER_METHOD.has(family.name);
      for (const sample of family.samples) {
        if (perMethod && !used.has(`${sample.labels['grpc_service']}/${sample.labels['grpc_method']}`))
          continue;
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

/** gRPC families etcd pre-creates for every method (41) and, for handled, every code (17). */
const GRPC_PER_METHOD = new Set([
  'grpc_server_started_total',
  'grpc_server_handled_total',
  'grpc_server_msg_received_total',
  'grpc_server_msg_sent_total',
  'grpc_server_handling_seconds',
]);

/**
 * Methods this member has served at least once. etcd pre-creates ≈700 all-zero gRPC series per member,
 * 68% of the re-exposed bytes; those of methods never called are left out. The cost: the very first call
 * of a method is seen as the series appearing at 1, so a rate over that first increment reads 0.
 */
function grpcMethodsServed(metrics: ParsedMetrics): Set<string> {
  const used = new Set<string>();
  for (const sample of metrics.get('grpc_server_started_total')?.samples ?? []) {
    if (sample.value > 0) used.add(`${sample.labels['grpc_service']}/${sample.labels['grpc_method']}`);
  }
  return used;
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
