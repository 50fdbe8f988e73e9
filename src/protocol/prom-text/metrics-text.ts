import { familyParser, intern, unescapeHelp } from './sample.js';
import {
  familyBlockPattern,
  isBlankLine,
  LineCounter,
  MetricsParseError,
  sampleLineParts,
  scanSampleLine,
  textAt,
} from './scan.js';
import type { MetricFamily, MetricType, ParsedMetrics, Sample } from './types.js';

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const HASH = 35;
const CR = 13;

/** Where one family's sample lines are in the text; parsed into samples only when asked for. */
interface FamilyIndex {
  readonly name: string;
  /** Where the HELP text is, still escaped; decoded only for families someone reads. */
  helpStart: number;
  helpEnd: number;
  type: MetricType;
  /** [start, end) pairs of text holding the family's sample lines (blank and comment lines may sit between). */
  readonly ranges: number[];
  /** True when a blank or comment line or a CR sits among the sample lines, so the ranges are not pure sample text. */
  mixed: boolean;
}

/**
 * One member's /metrics, checked line by line on arrival but turned into sample objects one family at a
 * time, on first use. The derive layer reads ≈25 of etcd's ≈130 families and re-exposure copies lines
 * as text, so most samples never become objects: parsing everything cost ≈1 ms per member per round,
 * a third of a 10-cluster round's CPU (perf/exporter-bench.ts).
 */
export class MetricsText implements ParsedMetrics {
  private readonly index = new Map<string, FamilyIndex>();
  /** Families parsed so far. A true private field: memoised work is not part of the value, so copies and equality checks do not see it. */
  readonly #parsed = new Map<string, MetricFamily>();

  /** Checks every line (MetricsParseError names the first bad one) and indexes families. */
  constructor(readonly text: string) {
    this.build();
  }

  get size(): number {
    return this.index.size;
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  get(name: string): MetricFamily | undefined {
    let family = this.#parsed.get(name);
    if (family) return family;
    const entry = this.index.get(name);
    if (!entry) return undefined;
    family = this.parseFamily(entry);
    this.#parsed.set(name, family);
    return family;
  }

  keys(): MapIterator<string> {
    return this.index.keys();
  }

  *values(): MapIterator<MetricFamily> {
    for (const name of this.index.keys()) yield this.get(name) as MetricFamily;
  }

  *entries(): MapIterator<[string, MetricFamily]> {
    for (const name of this.index.keys()) yield [name, this.get(name) as MetricFamily];
  }

  [Symbol.iterator](): MapIterator<[string, MetricFamily]> {
    return this.entries();
  }

  forEach(fn: (value: MetricFamily, key: string, map: ReadonlyMap<string, MetricFamily>) => void): void {
    for (const [name, family] of this.entries()) fn(family, name, this);
  }

  /** HELP (unescaped) and TYPE of a family without parsing its samples. */
  header(name: string): { readonly help: string; readonly type: MetricType } | undefined {
    const entry = this.index.get(name);
    return entry && { help: this.helpOf(entry), type: entry.type };
  }

  private helpOf(entry: FamilyIndex): string {
    if (entry.helpEnd <= entry.helpStart) return '';
    return intern(unescapeHelp(this.text.slice(entry.helpStart, entry.helpEnd)));
  }

  /**
   * The family's sample lines exactly as written, joined by newlines without a trailing one, or
   * undefined when blank lines, comments or CRs sit among them.
   */
  sampleText(name: string): string | undefined {
    const entry = this.index.get(name);
    if (!entry || entry.mixed) return undefined;
    let out = '';
    for (let r = 0; r < entry.ranges.length; r += 2) {
      out += (r > 0 ? '\n' : '') + this.text.slice(entry.ranges[r], entry.ranges[r + 1]);
    }
    return out;
  }

  private eachLine(entry: FamilyIndex, fn: (start: number, end: number) => void): void {
    const { text } = this;
    for (let r = 0; r < entry.ranges.length; r += 2) {
      const rangeEnd = entry.ranges[r + 1] as number;
      let pos = entry.ranges[r] as number;
      while (pos < rangeEnd) {
        let nl = text.indexOf('\n', pos);
        if (nl < 0 || nl > rangeEnd) nl = rangeEnd;
        if (text.charCodeAt(pos) !== HASH && !isBlankLine(text, pos, nl)) fn(pos, nl);
        pos = nl + 1;
      }
    }
  }

  private parseFamily(entry: FamilyIndex): MetricFamily {
    const samples: Sample[] = [];
    const parser = familyParser(entry.name);
    this.eachLine(entry, (start, end) => samples.push(parser.parse(this.text, start, end, samples.length)));
    parser.finish(samples.length);
    return { name: entry.name, help: this.helpOf(entry), type: entry.type, samples };
  }

  private familyOf(name: string): FamilyIndex {
    let family = this.index.get(name);
    if (!family) {
      family = { name, helpStart: 0, helpEnd: 0, type: 'untyped', ranges: [], mixed: false };
      this.index.set(name, family);
    }
    return family;
  }

  private build(): void {
    const { text } = this;
    const lines = new LineCounter(text);
    const parts = sampleLineParts();
    // CR line ends: every line takes the checked one-by-one path, which also marks the family mixed.
    const plainNewlines = !text.includes('\r');
    // The format's regex reads a HELP/TYPE line with a CR, U+2028 or U+2029 inside as a plain comment
    // ('.' stops there); the hand-read fast path would not, so such texts use the regex only.
    const oddTerminators = !plainNewlines || text.includes('\u2028') || text.includes('\u2029');
    // The family the last HELP/TYPE line named: etcd (client_golang) writes each family's samples
    // right after it, so one regex per family usually checks and claims all of them at once.
    let declared: FamilyIndex | undefined;
    // Families of sample names that did not match `declared`; HELP/TYPE lines reset it, as they can
    // change which family a name belongs to.
    const bySample = new Map<string, FamilyIndex>();
    let open: FamilyIndex | undefined;
    let openStart = 0;
    let openEnd = 0;
    const close = () => {
      if (open) open.ranges.push(openStart, openEnd);
      open = undefined;
    };
    let samples = 0;
    for (let pos = 0; pos < text.length;) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      const start = pos;
      pos = nl + 1;
      if (isBlankLine(text, start, nl)) {
        if (open) open.mixed = true;
        continue;
      }
      if (text.charCodeAt(start) === HASH) {
        const line = headerLine(text, start, nl, oddTerminators);
        if (!line) {
          if (open) open.mixed = true;
          continue; // other comments are allowed by the format
        }
        if (!line.nameChecked && !NAME.test(line.name))
          throw new MetricsParseError(`invalid metric name "${line.name}"`, lines.at(start));
        close();
        declared = this.familyOf(line.name);
        bySample.clear();
        if (line.kind === 'HELP') {
          declared.helpStart = line.restStart;
          declared.helpEnd = nl;
        } else {
          const rest = text.slice(line.restStart, nl);
          const type = rest.trim() as MetricType;
          if (!TYPES.has(type)) throw new MetricsParseError(`unknown metric type "${rest}"`, lines.at(start));
          declared.type = type;
        }
        if (plainNewlines && pos < text.length && text.charCodeAt(pos) !== HASH) {
          const block = familyBlockPattern(
            declared.name,
            declared.type === 'histogram' || declared.type === 'summary',
          );
          block.lastIndex = pos;
          block.exec(text);
          if (block.lastIndex > pos) {
            declared.ranges.push(pos, block.lastIndex - 1);
            samples++;
            pos = block.lastIndex;
          }
        }
        continue;
      }
      // A line no family block claimed: checked on its own, its family found by name.
      scanSampleLine(text, start, nl, lines.at(start), parts);
      samples++;
      let family = declared && belongsTo(text, start, declared) ? declared : undefined;
      if (!family) {
        const name = text.slice(start, parts.nameEnd);
        family = bySample.get(name);
        if (!family) {
          family = this.familyOf(intern(this.familyName(name)));
          bySample.set(name, family);
        }
      }
      if (family !== open) {
        close();
        open = family;
        openStart = start;
      }
      openEnd = nl;
      if (text.charCodeAt(nl - 1) === CR) family.mixed = true;
    }
    close();
    if (samples === 0 && this.index.size === 0 && text.trim() !== '') {
      throw new MetricsParseError('no metrics found', 1);
    }
  }

  /** Histogram/summary samples (_bucket, _sum, _count) belong to the family declared without the suffix. */
  private familyName(sampleName: string): string {
    for (const suffix of SUFFIXES) {
      if (sampleName.endsWith(suffix)) {
        const family = this.index.get(sampleName.slice(0, -suffix.length));
        if (family && (family.type === 'histogram' || family.type === 'summary')) return family.name;
      }
    }
    return sampleName;
  }
}

const SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * A `# HELP name text` or `# TYPE name type` line, read by hand in the usual single-space layout
 * (every line of etcd's output) and by the format's regex otherwise; undefined for other comments.
 */
function headerLine(
  text: string,
  start: number,
  end: number,
  byRegexOnly: boolean,
): { kind: 'HELP' | 'TYPE'; name: string; restStart: number; nameChecked: boolean } | undefined {
  const kind = byRegexOnly
    ? undefined
    : textAt(text, start, '# HELP ')
      ? 'HELP'
      : textAt(text, start, '# TYPE ')
        ? 'TYPE'
        : undefined;
  if (kind) {
    const nameStart = start + 7;
    let nameEnd = nameStart;
    while (nameEnd < end && !isSpaceOrTab(text.charCodeAt(nameEnd))) nameEnd++;
    let restStart = nameEnd;
    while (restStart < end && isSpaceOrTab(text.charCodeAt(restStart))) restStart++;
    const name = text.slice(nameStart, nameEnd);
    if (nameEnd > nameStart && NAME.test(name)) return { kind, name, restStart, nameChecked: true };
  }
  const line = text.slice(start, end);
  const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
  if (!match) return undefined;
  const [, matchedKind, name, rest = ''] = match as unknown as ['', 'HELP' | 'TYPE', string, string?];
  return { kind: matchedKind, name, restStart: end - rest.length, nameChecked: false };
}

const isSpaceOrTab = (c: number) => c === 32 || c === 9;

/** Chars that can follow a metric name on a checked sample line: `{`, blanks, or a value's sign. */
const SAMPLE_NAME_END = new Set([123, 32, 9, 13, 43, 45, 46]);

/** Whether the checked sample line at `start` is of `family` itself or, for histograms/summaries, one of its suffixed series. */
function belongsTo(text: string, start: number, family: FamilyIndex): boolean {
  if (!textAt(text, start, family.name)) return false;
  const after = start + family.name.length;
  if (SAMPLE_NAME_END.has(text.charCodeAt(after))) return true;
  if (family.type !== 'histogram' && family.type !== 'summary') return false;
  return SUFFIXES.some(
    (s) => textAt(text, after, s) && SAMPLE_NAME_END.has(text.charCodeAt(after + s.length)),
  );
}
