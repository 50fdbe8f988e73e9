import { MetricsText } from '../protocol/prom-text/metrics-text.js';
import { isNameChar } from '../protocol/prom-text/scan.js';
import type { MetricFamily, ParsedMetrics, Sample } from '../protocol/prom-text/types.js';

/** One member's parsed /metrics and the labels to add to each of its series. */
export interface ReexposeSource {
  readonly cluster: string;
  readonly member: string;
  /**
   * `host:port` of the client URL the exporter watches for this member: the `instance` Prometheus gives
   * a directly scraped member. With `honor_labels: true` on the exporter's scrape job it survives, so the
   * upstream etcd mixin's `by (instance)` queries and `{{instance}}` legends show one line per member
   * instead of merging all members under the exporter's own address.
   */
  readonly instance: string;
  readonly metrics: ParsedMetrics;
}

/** What the exposition says about a family besides its samples. */
export type FamilyHeader = Pick<MetricFamily, 'name' | 'help' | 'type'>;

/** One cluster's re-exposed series, rendered per family so clusters can be merged without re-rendering. */
export type FamilyChunks = ReadonlyMap<string, { readonly family: FamilyHeader; readonly text: string }>;

/**
 * Renders members' own series in the text format with `cluster`, `member` and `instance` added, HELP/TYPE once per
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

/** What one cluster's re-exposure rendered, and which members it left out for being over the cap. */
export interface RenderedCluster {
  readonly chunks: FamilyChunks;
  /** Members whose re-exposure was dropped this round: more than the cap's lines after filtering. */
  readonly overCap: ReadonlySet<string>;
}

/**
 * Default of --reexpose-max-series. A real etcd 3.4 member exposes 1,291 sample lines, of which 385-404
 * are re-exposed with the default allow list (592-611 with every family allowed; test/fixtures/etcd-3.4).
 * Even all 41 gRPC methods served leave it under 1,300: 10,000 is far above any real member while one
 * hostile member (150,000 series: exporter /metrics 0.14 -> 17.8 MB, perf/hostile-member.ts) stays out.
 */
export const DEFAULT_REEXPOSE_MAX_SERIES = 10_000;

/**
 * Renders the sample lines of each family (no HELP/TYPE). The monitor keeps one result per cluster and
 * only re-renders the cluster whose round finished: re-rendering all 30 members after each of 10
 * clusters' rounds cost ≈1 s of event-loop time per interval in perf/exporter-bench.ts.
 * Members' lines are copied as text with our labels spliced in; parsed samples are used only to pick
 * the gRPC lines of methods kept and for the rare line with a `cluster`, `member` or `instance` label of
 * its own.
 */
export function renderFamilyChunks(
  sources: readonly ReexposeSource[],
  allow: readonly RegExp[],
  skip: ReadonlySet<string>,
): FamilyChunks {
  return renderCluster(sources, allow, skip, Infinity).chunks;
}

/**
 * renderFamilyChunks with a per-member cap: a member that would add more than `maxSeriesPerMember`
 * lines adds none (all or nothing, like Prometheus' sample_limit, so no dashboard shows a silently
 * truncated family). Copying stops at the first line over the cap, so a member serving 150,000 series
 * costs at most `maxSeriesPerMember` + 1 strings per round.
 */
export function renderCluster(
  sources: readonly ReexposeSource[],
  allow: readonly RegExp[],
  skip: ReadonlySet<string>,
  maxSeriesPerMember: number,
): RenderedCluster {
  const byFamily = new Map<string, { family: FamilyHeader; lines: string[] }>();
  const allowed = new Map<string, boolean>();
  const overCap = new Set<string>();
  for (const source of sources) {
    const extra = `cluster="${escapeLabel(source.cluster)}",member="${escapeLabel(source.member)}",instance="${escapeLabel(source.instance)}"`;
    const used = grpcMethodsServed(source.metrics);
    const metrics = source.metrics;
    // Where this member's lines start in each family it touched, to take them back when over the cap.
    const marks: { name: string; lines: string[]; from: number }[] = [];
    let left = maxSeriesPerMember;
    for (const name of metrics.keys()) {
      let ok = allowed.get(name);
      if (ok === undefined) {
        ok = !skip.has(name) && allow.some((re) => re.test(name));
        allowed.set(name, ok);
      }
      if (!ok) continue;
      const header = metrics instanceof MetricsText ? metrics.header(name) : metrics.get(name);
      if (!header) continue;
      let entry = byFamily.get(name);
      if (!entry) {
        entry = { family: { name, help: header.help, type: header.type }, lines: [] };
        byFamily.set(name, entry);
      }
      const from = entry.lines.length;
      marks.push({ name, lines: entry.lines, from });
      const limit = from + left + 1;
      const onlyUsed = GRPC_PER_METHOD.has(name) ? used : undefined;
      if (metrics instanceof MetricsText) copyLines(metrics, name, extra, onlyUsed, entry.lines, limit);
      else {
        for (const sample of metrics.get(name)?.samples ?? []) {
          if (entry.lines.length >= limit) break;
          if (!onlyUsed || isUsed(onlyUsed, sample.labels)) entry.lines.push(renderSample(sample, extra));
        }
      }
      left -= entry.lines.length - from;
      if (left < 0) break;
    }
    if (left >= 0) continue;
    overCap.add(source.member);
    for (const { name, lines, from } of marks) {
      lines.length = from;
      if (from === 0) byFamily.delete(name);
    }
  }
  const chunks = new Map<string, { family: FamilyHeader; text: string }>();
  for (const [name, { family, lines }] of byFamily) {
    chunks.set(name, { family, text: lines.length > 0 ? lines.join('\n') + '\n' : '' });
  }
  return { chunks, overCap };
}

/**
 * Appends a family's lines as the member wrote them, with `extra` spliced in as the first labels, until
 * `out` holds `limit` lines.
 * Falls back to rendering parsed samples when the block holds anything but plain sample lines, and
 * for a line that may carry a label named cluster, member or instance (ours must win).
 */
function copyLines(
  metrics: MetricsText,
  name: string,
  extra: string,
  onlyUsed: UsedMethods | undefined,
  out: string[],
  limit: number,
): void {
  const block = metrics.sampleText(name);
  if (block === undefined) {
    for (const sample of metrics.get(name)?.samples ?? []) {
      if (out.length >= limit) return;
      if (!onlyUsed || isUsed(onlyUsed, sample.labels)) out.push(renderSample(sample, extra));
    }
    return;
  }
  // A plain block has exactly one line per sample, in order.
  const samples = onlyUsed ? (metrics.get(name)?.samples ?? []) : undefined;
  for (let i = 0, pos = 0; pos <= block.length && out.length < limit; i++) {
    let nl = block.indexOf('\n', pos);
    if (nl < 0) nl = block.length;
    const sample = samples?.[i];
    if (!samples || (sample && isUsed(onlyUsed as UsedMethods, sample.labels))) {
      const line = block.slice(pos, nl);
      // Checked per line kept: scanning every member's whole block for them cost more than the copy.
      if (line.includes('cluster="') || line.includes('member="') || line.includes('instance="')) {
        out.push(renderSample(metrics.get(name)?.samples[i] as Sample, extra));
      } else out.push(withLabels(line, extra));
    }
    pos = nl + 1;
  }
}

/**
 * A checked sample line with `extra` (rendered label pairs) as its first labels. A line's first `{`
 * opens its label set: names cannot contain one, and neither values nor timestamps do.
 */
function withLabels(line: string, extra: string): string {
  const brace = line.indexOf('{');
  if (brace >= 0) {
    const empty = line.charCodeAt(brace + 1) === 125; // `{}`
    return `${line.slice(0, brace + 1)}${extra}${empty ? '' : ','}${line.slice(brace + 1)}`;
  }
  let nameEnd = 0;
  while (nameEnd < line.length && isNameChar(line.charCodeAt(nameEnd), true)) nameEnd++;
  return `${line.slice(0, nameEnd)}{${extra}}${line.slice(nameEnd)}`;
}

/** One sample with `extra` first; the member's own `cluster`/`member`/`instance` labels give way to ours. */
function renderSample(sample: Sample, extra: string): string {
  let labels = extra;
  for (const name in sample.labels) {
    if (OUR_LABELS.has(name)) continue;
    labels += `,${name}="${escapeLabel(sample.labels[name] as string)}"`;
  }
  return `${sample.name}{${labels}} ${formatValue(sample.value)}`;
}

/** Labels the exporter sets on every relayed series; a member's own label of that name is dropped. */
const OUR_LABELS = new Set(['cluster', 'member', 'instance']);

/** gRPC families etcd pre-creates for every method (41) and, for handled, every code (17). */
const GRPC_PER_METHOD = new Set([
  'grpc_server_started_total',
  'grpc_server_handled_total',
  'grpc_server_msg_received_total',
  'grpc_server_msg_sent_total',
  'grpc_server_handling_seconds',
]);

/**
 * The two streaming methods kept even before their first call: the upstream etcd mixin's "Active
 * streams" panel charts `sum(grpc_server_started_total) - sum(grpc_server_handled_total)` of Watch and
 * Lease bidi streams, and has no data at all (not 0) until a client opens one if their series are
 * dropped. A long-lived stream may also be opened before the exporter starts and never again. The cost
 * is 20 lines per method per member (started, handled for 17 codes, msg received, msg sent; counted on
 * test/fixtures/etcd-3.4 and etcd-3.5), 40 at most per member.
 */
const STREAMS_ALWAYS_KEPT: readonly (readonly [service: string, method: string])[] = [
  ['etcdserverpb.Watch', 'Watch'],
  ['etcdserverpb.Lease', 'LeaseKeepAlive'],
];

/**
 * Methods this member has served at least once, plus STREAMS_ALWAYS_KEPT. etcd pre-creates ≈700 all-zero
 * gRPC series per member, 68% of the re-exposed bytes; those of other methods never called are left out.
 * The cost: the very first call of such a method is seen as the series appearing at 1, so a rate over
 * that first increment reads 0.
 */
function grpcMethodsServed(metrics: ParsedMetrics): UsedMethods {
  const used: UsedMethods = new Map();
  const add = (service: string, method: string) => {
    let methods = used.get(service);
    if (!methods) used.set(service, (methods = new Set()));
    methods.add(method);
  };
  for (const [service, method] of STREAMS_ALWAYS_KEPT) add(service, method);
  for (const sample of metrics.get('grpc_server_started_total')?.samples ?? []) {
    if (sample.value <= 0) continue;
    add(sample.labels['grpc_service'] ?? '', sample.labels['grpc_method'] ?? '');
  }
  return used;
}

/** Method names served, by gRPC service. */
type UsedMethods = Map<string, Set<string>>;

const isUsed = (used: UsedMethods, labels: Readonly<Record<string, string>>) =>
  used.get(labels['grpc_service'] ?? '')?.has(labels['grpc_method'] ?? '') ?? false;

/** Merges per-cluster chunks into one exposition: every family once, with all clusters' samples under it. */
export function assembleReexposed(parts: readonly FamilyChunks[]): string {
  const merged = new Map<string, { family: FamilyHeader; texts: string[] }>();
  for (const part of parts) {
    for (const [name, { family, text }] of part) {
      const entry = merged.get(name);
      if (entry) entry.texts.push(text);
      else merged.set(name, { family, texts: [text] });
    }
  }
  let out = '';
  for (const [name, { family, texts }] of merged) {
    out += headerOf(name, family) + texts.join('');
  }
  return out;
}

/** One cluster's re-exposed families as UTF-8 bytes, encoded once per round (see assembleReexposedBytes). */
export type EncodedChunks = ReadonlyMap<string, { readonly family: FamilyHeader; readonly bytes: Buffer }>;

/** Encodes each family's text once, when its cluster's round renders it. */
export function encodeChunks(chunks: FamilyChunks): EncodedChunks {
  const encoded = new Map<string, { family: FamilyHeader; bytes: Buffer }>();
  for (const [name, { family, text }] of chunks)
    encoded.set(name, { family, bytes: Buffer.from(text, 'utf8') });
  return encoded;
}

/**
 * assembleReexposed as bytes, byte for byte the UTF-8 of its text: only the headers are encoded here,
 * each cluster's lines were encoded by its own round. Joining the merged text (≈20 MB at 300 members)
 * and encoding it again at every merge was 13 % of the pipeline's CPU profile there and 190 KiB of
 * allocation per member-round (perf/exporter-pipeline.ts).
 */
export function assembleReexposedBytes(parts: readonly EncodedChunks[]): Buffer {
  const merged = new Map<string, { family: FamilyHeader; buffers: Buffer[] }>();
  for (const part of parts) {
    for (const [name, { family, bytes }] of part) {
      const entry = merged.get(name);
      if (entry) entry.buffers.push(bytes);
      else merged.set(name, { family, buffers: [bytes] });
    }
  }
  const out: Buffer[] = [];
  for (const [name, { family, buffers }] of merged) {
    out.push(Buffer.from(headerOf(name, family), 'utf8'), ...buffers);
  }
  return Buffer.concat(out);
}

const headerOf = (name: string, family: FamilyHeader) =>
  `# HELP ${name} ${escapeHelp(family.help || 'Re-exposed from etcd members.')}\n# TYPE ${name} ${exposedType(family)}\n`;

/**
 * etcd types a few families against Prometheus' naming rules (raft indexes as gauges named _total,
 * counters without _total). Declaring those untyped keeps names intact for the etcd mixin while
 * `promtool check metrics` stays clean; PromQL treats untyped like a gauge.
 */
export function exposedType(family: Pick<MetricFamily, 'name' | 'type'>): string {
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
