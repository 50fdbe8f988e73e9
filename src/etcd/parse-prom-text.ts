import { MonitorError } from '../util/errors.js';
import type { MetricFamily, MetricType, ParsedMetrics, Sample } from './prom-text.js';

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Thrown when a member's /metrics is not the Prometheus text format. */
export class MetricsParseError extends MonitorError {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super('METRICS_PARSE', `line ${line}: ${message}`);
  }
}

interface MutableFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/**
 * Parses Prometheus text exposition format 0.0.4 into families. Strict enough that an HTML page or
 * random bytes fail loudly (so a member serving garbage is reported, not silently read as empty).
 */
export function parsePromText(text: string): ParsedMetrics {
  const families = new Map<string, MutableFamily>();
  const familyOf = (name: string): MutableFamily => {
    let family = families.get(name);
    if (!family) {
      family = { name, help: '', type: 'untyped', samples: [] };
      families.set(name, family);
    }
    return family;
  };
  // Family of each sample name seen so far; HELP/TYPE lines can change the answer, so they reset it.
  const familyBySample = new Map<string, MutableFamily>();
  const lines = text.split('\n');
  let sampleCount = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '' || /^\s*$/.test(line)) continue;
    if (line.startsWith('#')) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!match) continue; // other comments are allowed by the format
      const [, kind, name, rest = ''] = match as unknown as [string, string, string, string?];
      if (!NAME.test(name)) throw new MetricsParseError(`invalid metric name "${name}"`, i + 1);
      const family = familyOf(intern(name));
      familyBySample.clear();
      if (kind === 'HELP') family.help = intern(unescapeHelp(rest));
      else {
        const type = intern(rest.trim()) as MetricType;
        if (!TYPES.has(type)) throw new MetricsParseError(`unknown metric type "${rest}"`, i + 1);
        family.type = type;
      }
      continue;
    }
    const sample = parseSampleLine(line, i + 1);
    sampleCount++;
    let family = familyBySample.get(sample.name);
    if (!family) {
      family = familyOf(familyName(sample.name, families));
      familyBySample.set(sample.name, family);
    }
    family.samples.push(sample);
  }
  if (sampleCount === 0 && families.size === 0 && text.trim() !== '') {
    throw new MetricsParseError('no metrics found', 1);
  }
  return families;
}

/** Histogram/summary samples (_bucket, _sum, _count) belong to the family declared without the suffix. */
function familyName(sampleName: string, families: Map<string, MutableFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix)) {
      const base = sampleName.slice(0, -suffix.length);
      const family = families.get(base);
      if (family && (family.type === 'histogram' || family.type === 'summary')) return base;
    }
  }
  return sampleName;
}

// Char codes used by the sample-line scanner.
const BRACE_OPEN = 123;
const BRACE_CLOSE = 125;
const QUOTE = 34;
const BACKSLASH = 92;
const EQUALS = 61;
const COMMA = 44;
const SPACE = 32;
const TAB = 9;
const CR = 13;

/** [a-zA-Z0-9_], plus ':' for metric names. */
function isNameChar(c: number, colonAllowed: boolean): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 ||
    (colonAllowed && c === 58)
  );
}

const isBlank = (c: number) => c === SPACE || c === TAB || c === CR;

/**
 * Shared copies of names and label values. Thirty members repeat the same few thousand strings every
 * round; without sharing, each parsed sample kept its own copies (and V8 substrings kept each member's
 * whole /metrics text alive). Cleared when it grows past a bound so odd label values cannot pile up.
 */
const interned = new Map<string, string>();
const INTERN_LIMIT = 50_000;

function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size >= INTERN_LIMIT) interned.clear();
  // A flat copy, so the table never pins the text the value was sliced from.
  const copy = value.length > 12 ? Buffer.from(value, 'utf8').toString('utf8') : value;
  interned.set(copy, copy);
  return copy;
}

function parseSampleLine(line: string, lineNo: number): Sample {
  const end = line.length;
  let pos = 0;
  while (pos < end && isNameChar(line.charCodeAt(pos), true)) pos++;
  const rawName = line.slice(0, pos);
  if (!NAME.test(rawName))
    throw new MetricsParseError(`expected a metric name, got "${line.slice(0, 40)}"`, lineNo);
  const name = intern(rawName);
  let labels = NO_LABELS;
  if (line.charCodeAt(pos) === BRACE_OPEN) {
    pos++;
    const close = closingBrace(line, pos);
    const known = close < 0 ? undefined : LABEL_SETS.get(line.slice(pos, close));
    if (known) {
      labels = known;
      pos = close + 1;
    } else {
      const labelStart = pos;
      const parsed: Record<string, string> = {};
      pos = parseLabels(line, pos, lineNo, parsed);
      labels = rememberLabelSet(line.slice(labelStart, pos - 1), parsed);
    }
  }
  while (isBlank(line.charCodeAt(pos))) pos++;
  const valueStart = pos;
  while (pos < end && !isBlank(line.charCodeAt(pos))) pos++;
  const valueText = line.slice(valueStart, pos);
  if (valueText === '') throw new MetricsParseError(`sample "${name}" has no value`, lineNo);
  const value = parseValue(valueText);
  if (value === undefined) throw new MetricsParseError(`invalid sample value "${valueText}"`, lineNo);
  return { name, labels, value };
}

/** Position of the `}` closing a label set that starts at `pos`, skipping quoted values; -1 if none. */
function closingBrace(line: string, pos: number): number {
  let quoted = false;
  for (; pos < line.length; pos++) {
    const c = line.charCodeAt(pos);
    if (quoted) {
      if (c === BACKSLASH) pos++;
      else if (c === QUOTE) quoted = false;
    } else if (c === QUOTE) quoted = true;
    else if (c === BRACE_CLOSE) return pos;
  }
  return -1;
}

/** Parses `name="value",...}` from `pos` into `labels`; returns the position after the `}`. */
function parseLabels(line: string, pos: number, lineNo: number, labels: Record<string, string>): number {
  const end = line.length;
  for (;;) {
    let c = line.charCodeAt(pos);
    while (c === SPACE || c === COMMA) c = line.charCodeAt(++pos);
    if (c === BRACE_CLOSE) return pos + 1;
    const start = pos;
    while (pos < end && isNameChar(line.charCodeAt(pos), false)) pos++;
    if (pos === start || line.charCodeAt(pos) !== EQUALS || line.charCodeAt(pos + 1) !== QUOTE) {
      throw new MetricsParseError(`malformed label set in "${line.slice(0, 80)}"`, lineNo);
    }
    const labelName = intern(line.slice(start, pos));
    pos += 2;
    const valueStart = pos;
    let escaped = false;
    for (;;) {
      if (pos >= end) throw new MetricsParseError('unterminated label value', lineNo);
      const ch = line.charCodeAt(pos);
      if (ch === QUOTE) break;
      if (ch === BACKSLASH) {
        escaped = true;
        pos++;
      }
      pos++;
    }
    const raw = line.slice(valueStart, pos);
    pos++; // the closing quote
    labels[labelName] = intern(escaped ? unescapeLabel(raw) : raw);
  }
}

/**
 * Label sets by their text as written. Thirty members repeat the same few thousand label sets every
 * round, so each is parsed once and then shared (frozen) by every sample that has it: parsing gets
 * cheaper and a round's samples no longer carry a labels object each. Bounded like the intern table.
 */
const LABEL_SETS = new Map<string, Readonly<Record<string, string>>>();

/**
 * The label text behind each shared labels object. Keyed by object, so a sample rebuilt with other
 * labels has no entry and the text can never disagree with the labels it stands for.
 */
const LABEL_TEXT = new WeakMap<object, string>();

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
LABEL_TEXT.set(NO_LABELS, '');

function rememberLabelSet(text: string, labels: Record<string, string>): Readonly<Record<string, string>> {
  if (LABEL_SETS.size >= INTERN_LIMIT) LABEL_SETS.clear();
  const key = intern(text);
  const shared = Object.freeze(labels);
  LABEL_SETS.set(key, shared);
  LABEL_TEXT.set(shared, key);
  return shared;
}

/**
 * The escaped label text (no braces) behind a labels object this parser produced, if any; re-exposure
 * copies it instead of re-escaping every value.
 */
export function labelTextOf(labels: Readonly<Record<string, string>>): string | undefined {
  return LABEL_TEXT.get(labels);
}

/** Label value escapes of the text format: \\, \" and \n; any other escaped character stands for itself. */
function unescapeLabel(raw: string): string {
  return raw.replace(/\\(.?)/gs, (_, ch: string) => (ch === 'n' ? '\n' : ch));
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_, ch: string) => (ch === 'n' ? '\n' : '\\'));
}

/** The samples of one family, or none when the member does not export it (e.g. an older etcd). */
export function samplesOf(metrics: ParsedMetrics, family: string): readonly Sample[] {
  return metrics.get(family)?.samples ?? [];
}

/** Sum of a family's plain samples (not _bucket/_sum/_count), optionally filtered by labels. */
export function sumOf(
  metrics: ParsedMetrics,
  family: string,
  where: (labels: Readonly<Record<string, string>>) => boolean = () => true,
): number | undefined {
  const samples = samplesOf(metrics, family).filter((s) => s.name === family && where(s.labels));
  if (samples.length === 0) return undefined;
  return samples.reduce((total, s) => total + s.value, 0);
}

/** Exported so callers can declare the families they build. */
export type { MetricFamily };
