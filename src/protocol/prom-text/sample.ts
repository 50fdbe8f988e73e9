import type { Sample } from './types.js';
import {
  isBlank,
  isNameChar,
  locateSampleParts,
  sampleLineParts,
  textAt,
  scanLabels,
  valueOf,
  type SampleLineParts,
} from './scan.js';

/**
 * Shared copies of names and label values. Thirty members repeat the same few thousand strings every
 * round; without sharing, each parsed sample kept its own copies (and V8 substrings kept each member's
 * whole /metrics text alive). Cleared when it grows past a bound so odd label values cannot pile up.
 */
const interned = new Map<string, string>();
const INTERN_LIMIT = 50_000;

/** The shared copy of `value`. */
export function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size >= INTERN_LIMIT) interned.clear();
  // A flat copy, so the table never pins the text the value was sliced from.
  const copy = value.length > 12 ? Buffer.from(value, 'utf8').toString('utf8') : value;
  interned.set(copy, copy);
  return copy;
}

/**
 * Label sets by their text as written. Thirty members repeat the same few thousand label sets every
 * round, so each is parsed once and then shared (frozen) by every sample that has it. Bounded like
 * the intern table.
 */
const LABEL_SETS = new Map<string, Readonly<Record<string, string>>>();
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/** The sample on the checked line `text[start, end)` (see MetricsText); `parts` is scratch space. */
export function parseSampleAt(text: string, start: number, end: number, parts: SampleLineParts): Sample {
  locateSampleParts(text, start, end, parts);
  const name = intern(text.slice(start, parts.nameEnd));
  const labels = parts.labelsStart < 0 ? NO_LABELS : labelSet(text, parts.labelsStart, parts.labelsEnd);
  return { name, labels, value: valueOf(text, parts.valueStart, parts.valueEnd) };
}

/** The shared labels object for the label text `text[start, end)` (between the braces). */
function labelSet(text: string, start: number, end: number): Readonly<Record<string, string>> {
  const labelText = text.slice(start, end);
  const known = LABEL_SETS.get(labelText);
  if (known) return known;
  const parsed: Record<string, string> = {};
  scanLabels(text, start, end + 1, 0, (labelName, raw, escaped) => {
    parsed[intern(labelName)] = intern(escaped ? unescapeLabel(raw) : raw);
  });
  if (LABEL_SETS.size >= INTERN_LIMIT) LABEL_SETS.clear();
  const labels = Object.freeze(parsed);
  LABEL_SETS.set(intern(labelText), labels);
  return labels;
}

/**
 * Parses the checked sample lines of one family. Members repeat the same names and label sets in
 * the same order every round (etcd's ≈700 grpc_server_handled_total lines above all), so each line's
 * label text is first compared in place with what this line held last time; only a difference costs
 * a substring and a table lookup.
 */
export class FamilySampleParser {
  private readonly suffixed: readonly { readonly suffix: string; readonly name: string }[];
  /** Label text (between the braces) and labels object of each line at the last parse, by line index. */
  private hints: (Hint | undefined)[] = [];
  /**
   * The hint each line had before, tried second. Members of two etcd versions (or of different gRPC
   * use) alternate in a round, and one hint per line then missed on ≈half of the ≈700 handled_total
   * lines of every member: at 300 members, label-set lookups and interning were 4.5 % of the exporter's
   * CPU (perf/exporter-pipeline.ts).
   */
  private spare: (Hint | undefined)[] = [];
  private readonly parts = sampleLineParts();

  constructor(readonly family: string) {
    this.suffixed = ['_bucket', '_count', '_sum'].map((suffix) => ({
      suffix,
      name: intern(family + suffix),
    }));
  }

  /** The sample on line number `index` (0-based within the family) at `text[start, end)`. */
  parse(text: string, start: number, end: number, index: number): Sample {
    // Every line of a family's ranges starts with the family name (MetricsText groups them so); what
    // follows is the label set or value, or for histograms/summaries a suffix.
    let name: string | undefined;
    let pos = start + this.family.length;
    if (!isNameChar(text.charCodeAt(pos), true)) name = this.family;
    else {
      for (const s of this.suffixed) {
        if (textAt(text, pos, s.suffix) && !isNameChar(text.charCodeAt(pos + s.suffix.length), true)) {
          name = s.name;
          pos += s.suffix.length;
          break;
        }
      }
    }
    if (name === undefined) return parseSampleAt(text, start, end, this.parts);
    let labels = NO_LABELS;
    if (text.charCodeAt(pos) === BRACE_OPEN) {
      const labelsStart = pos + 1;
      // The label set ends at the line's last '}' (values and timestamps have none); the value is
      // short, so walking back is cheaper than lastIndexOf.
      let labelsEnd = end - 1;
      while (text.charCodeAt(labelsEnd) !== 125) labelsEnd--;
      const hint = this.hints[index];
      const spare = this.spare[index];
      if (hint && labelsEnd - labelsStart === hint.text.length && textAt(text, labelsStart, hint.text)) {
        labels = hint.labels;
      } else if (
        spare &&
        labelsEnd - labelsStart === spare.text.length &&
        textAt(text, labelsStart, spare.text)
      ) {
        labels = spare.labels;
        this.spare[index] = hint;
        this.hints[index] = spare;
      } else {
        labels = labelSet(text, labelsStart, labelsEnd);
        this.spare[index] = hint;
        this.hints[index] = { text: intern(text.slice(labelsStart, labelsEnd)), labels };
      }
      pos = labelsEnd + 1;
    }
    while (pos < end && isBlank(text.charCodeAt(pos))) pos++;
    const valueStart = pos;
    while (pos < end && !isBlank(text.charCodeAt(pos))) pos++;
    return { name, labels, value: numberAt(text, valueStart, pos) };
  }

  /** Forgets hints past the last line parsed, so a family that shrank does not keep them. */
  finish(lines: number): void {
    if (this.hints.length > lines) this.hints.length = lines;
    if (this.spare.length > lines) this.spare.length = lines;
  }
}

interface Hint {
  readonly text: string;
  readonly labels: Readonly<Record<string, string>>;
}

const parsers = new Map<string, FamilySampleParser>();

/** The parser of a family (shared by every member, so hints carry over from one member to the next). */
export function familyParser(family: string): FamilySampleParser {
  let parser = parsers.get(family);
  if (!parser) {
    if (parsers.size >= 10_000) parsers.clear();
    parser = new FamilySampleParser(intern(family));
    parsers.set(parser.family, parser);
  }
  return parser;
}

const BRACE_OPEN = 123;

/** A checked value; plain non-negative integers (most of etcd's values) are read without a substring. */
function numberAt(text: string, start: number, end: number): number {
  if (end - start <= 15) {
    let n = 0;
    let i = start;
    for (; i < end; i++) {
      const digit = text.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      n = n * 10 + digit;
    }
    if (i === end && end > start) return n;
  }
  return valueOf(text, start, end);
}

/** Label value escapes of the text format: \\, \" and \n; any other escaped character stands for itself. */
function unescapeLabel(raw: string): string {
  return raw.replace(/\\(.?)/gs, (_, ch: string) => (ch === 'n' ? '\n' : ch));
}

/** HELP escapes of the text format: \\ and \n. */
export function unescapeHelp(text: string): string {
  return text.replace(/\\(n|\\)/g, (_, ch: string) => (ch === 'n' ? '\n' : '\\'));
}
