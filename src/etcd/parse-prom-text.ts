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
      const family = familyOf(name);
      if (kind === 'HELP') family.help = unescapeHelp(rest);
      else {
        const type = rest.trim() as MetricType;
        if (!TYPES.has(type)) throw new MetricsParseError(`unknown metric type "${rest}"`, i + 1);
        family.type = type;
      }
      continue;
    }
    const sample = parseSampleLine(line, i + 1);
    sampleCount++;
    familyOf(familyName(sample.name, families)).samples.push(sample);
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

function parseSampleLine(line: string, lineNo: number): Sample {
  let pos = 0;
  while (pos < line.length && /[a-zA-Z0-9_:]/.test(line[pos] as string)) pos++;
  const name = line.slice(0, pos);
  if (!NAME.test(name))
    throw new MetricsParseError(`expected a metric name, got "${line.slice(0, 40)}"`, lineNo);
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ' || line[pos] === ',') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const start = pos;
      while (pos < line.length && /[a-zA-Z0-9_]/.test(line[pos] as string)) pos++;
      const labelName = line.slice(start, pos);
      if (!labelName || line[pos] !== '=' || line[pos + 1] !== '"') {
        throw new MetricsParseError(`malformed label set in "${line.slice(0, 80)}"`, lineNo);
      }
      pos += 2;
      let value = '';
      for (;;) {
        const ch = line[pos];
        if (ch === undefined) throw new MetricsParseError('unterminated label value', lineNo);
        pos++;
        if (ch === '"') break;
        if (ch === '\\') {
          const next = line[pos++];
          value += next === 'n' ? '\n' : (next ?? '');
        } else value += ch;
      }
      labels[labelName] = value;
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  const valueText = rest[0];
  if (valueText === undefined || valueText === '')
    throw new MetricsParseError(`sample "${name}" has no value`, lineNo);
  const value = parseValue(valueText);
  if (value === undefined) throw new MetricsParseError(`invalid sample value "${valueText}"`, lineNo);
  return { name, labels, value };
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
