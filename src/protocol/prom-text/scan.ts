import { MonitorError } from '../../util/errors.js';

/** Thrown when a member's /metrics is not the Prometheus text format. */
export class MetricsParseError extends MonitorError {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super('METRICS_PARSE', `line ${line}: ${message}`);
  }
}

// Char codes of the text format's syntax.
const BRACE_OPEN = 123;
const BRACE_CLOSE = 125;
const QUOTE = 34;
const BACKSLASH = 92;
const EQUALS = 61;
const COMMA = 44;
const SPACE = 32;
const TAB = 9;
const CR = 13;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const HASH = 35;

/** [a-zA-Z0-9_], plus ':' for metric names. */
export function isNameChar(c: number, colonAllowed: boolean): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 ||
    (colonAllowed && c === 58)
  );
}

const isDigit = (c: number) => c >= 48 && c <= 57;
/** The blanks the text format allows between a sample's parts. */
export const isBlank = (c: number) => c === SPACE || c === TAB || c === CR;

/**
 * Where the parts of one sample line are. `scanSampleLine` fills a caller-owned instance, so checking
 * the ≈1,500 lines of a member's /metrics allocates nothing.
 */
export interface SampleLineParts {
  /** End of the metric name (the name starts at the line start). */
  nameEnd: number;
  /** First char inside `{`, or -1 when the sample has no label set. */
  labelsStart: number;
  /** Position of the closing `}` (meaningless without a label set). */
  labelsEnd: number;
  valueStart: number;
  valueEnd: number;
}

/** A fresh parts record for `scanSampleLine`. */
export const sampleLineParts = (): SampleLineParts => ({
  nameEnd: 0,
  labelsStart: -1,
  labelsEnd: 0,
  valueStart: 0,
  valueEnd: 0,
});

/**
 * Checks one sample line (`text[start, end)`, no newline) against the grammar and records where its
 * name, label set and value are. A timestamp after the value is allowed and ignored. Throws
 * MetricsParseError with `lineNo`.
 */
export function scanSampleLine(
  text: string,
  start: number,
  end: number,
  lineNo: number,
  parts: SampleLineParts,
): void {
  let pos = start;
  while (pos < end && isNameChar(text.charCodeAt(pos), true)) pos++;
  if (pos === start || isDigit(text.charCodeAt(start))) {
    throw new MetricsParseError(
      `expected a metric name, got "${text.slice(start, Math.min(end, start + 40))}"`,
      lineNo,
    );
  }
  parts.nameEnd = pos;
  parts.labelsStart = -1;
  if (pos < end && text.charCodeAt(pos) === BRACE_OPEN) {
    parts.labelsStart = pos + 1;
    parts.labelsEnd = scanLabels(text, pos + 1, end, lineNo);
    pos = parts.labelsEnd + 1;
  }
  while (pos < end && isBlank(text.charCodeAt(pos))) pos++;
  parts.valueStart = pos;
  while (pos < end && !isBlank(text.charCodeAt(pos))) pos++;
  parts.valueEnd = pos;
  if (pos === parts.valueStart) {
    throw new MetricsParseError(`sample "${text.slice(start, parts.nameEnd)}" has no value`, lineNo);
  }
  if (!isValidValue(text, parts.valueStart, pos)) {
    throw new MetricsParseError(`invalid sample value "${text.slice(parts.valueStart, pos)}"`, lineNo);
  }
  // Only a timestamp (integer milliseconds) may follow; Prometheus rejects anything else, and
  // re-exposure copies lines as written.
  while (pos < end && isBlank(text.charCodeAt(pos))) pos++;
  const timestampStart = pos;
  if (pos < end && text.charCodeAt(pos) === MINUS) pos++;
  while (pos < end && isDigit(text.charCodeAt(pos))) pos++;
  const timestampOk = pos > timestampStart && isDigit(text.charCodeAt(pos - 1));
  while (pos < end && isBlank(text.charCodeAt(pos))) pos++;
  if (pos < end || (timestampStart < end && !timestampOk)) {
    throw new MetricsParseError(
      `unexpected "${text.slice(timestampStart, Math.min(end, timestampStart + 40))}" after the value of "${text.slice(start, parts.nameEnd)}"`,
      lineNo,
    );
  }
}

/**
 * Walks `name="value",...}` from `pos` and returns the position of the closing `}`. With `into`, each
 * label is also stored there (values still escaped; `unescape` is applied by the caller's choice).
 */
export function scanLabels(
  text: string,
  pos: number,
  end: number,
  lineNo: number,
  into?: (name: string, rawValue: string, escaped: boolean) => void,
): number {
  for (;;) {
    let c = text.charCodeAt(pos);
    while (pos < end && (c === SPACE || c === COMMA)) c = text.charCodeAt(++pos);
    if (pos < end && c === BRACE_CLOSE) return pos;
    const nameStart = pos;
    while (pos < end && isNameChar(text.charCodeAt(pos), false)) pos++;
    if (
      pos === nameStart ||
      pos + 1 >= end ||
      text.charCodeAt(pos) !== EQUALS ||
      text.charCodeAt(pos + 1) !== QUOTE
    ) {
      throw new MetricsParseError(`malformed label set in "${lineText(text, nameStart, end, 80)}"`, lineNo);
    }
    const nameEnd = pos;
    pos += 2;
    const valueStart = pos;
    let escaped = false;
    for (;;) {
      if (pos >= end) throw new MetricsParseError('unterminated label value', lineNo);
      const ch = text.charCodeAt(pos);
      if (ch === QUOTE) break;
      if (ch === BACKSLASH) {
        escaped = true;
        pos++;
      }
      pos++;
    }
    into?.(text.slice(nameStart, nameEnd), text.slice(valueStart, pos), escaped);
    pos++; // the closing quote
  }
}

/** The whole line around `pos`, shortened, for error messages. */
function lineText(text: string, pos: number, end: number, max: number): string {
  const start = text.lastIndexOf('\n', pos - 1) + 1;
  return text.slice(start, Math.min(end, start + max));
}

/** `[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?`, `NaN`, or `Inf` with an optional sign, without a regex. */
export function isValidValue(text: string, start: number, end: number): boolean {
  let i = start;
  const sign = text.charCodeAt(i);
  if (sign === PLUS || sign === MINUS) i++;
  if (end - i === 3) {
    if (textAt(text, i, 'Inf')) return true;
    if (i === start && textAt(text, i, 'NaN')) return true;
  }
  let digits = 0;
  while (i < end && isDigit(text.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < end && text.charCodeAt(i) === DOT) {
    i++;
    while (i < end && isDigit(text.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i < end && (text.charCodeAt(i) | 32) === 101) {
    i++;
    const expSign = text.charCodeAt(i);
    if (expSign === PLUS || expSign === MINUS) i++;
    const expStart = i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    if (i === expStart) return false;
  }
  return i === end;
}

const VALUE = String.raw`(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)`;
const LABEL_SET = String.raw`\{(?:[ ,]*[a-zA-Z0-9_]+="(?:[^"\\\n\r]|\\[^\n\r])*")*[ ,]*\}`;
const AFTER_NAME = String.raw`(?![a-zA-Z0-9_:])(?:${LABEL_SET})?[ \t]*${VALUE}(?:[ \t]+-?\d+)?[ \t]*\n`;
const blockPatterns = { plain: new Map<string, RegExp>(), suffixed: new Map<string, RegExp>() };

/**
 * A sticky regex matching a run of `\n`-terminated sample lines of one family (named `family`, or
 * with `_bucket`/`_count`/`_sum` when `suffixed`), each one `scanSampleLine` would accept. One exec per
 * family checks and groups a member's lines in irregexp's native code: ≈5× faster than a JS loop over
 * every line. It may be stricter than the scanner (no CR anywhere), never looser; lines it stops at go
 * to the scanner, which has the last word.
 */
export function familyBlockPattern(family: string, suffixed: boolean): RegExp {
  const cache = suffixed ? blockPatterns.suffixed : blockPatterns.plain;
  let pattern = cache.get(family);
  if (!pattern) {
    if (cache.size >= 10_000) cache.clear();
    // Metric names are [a-zA-Z0-9_:] only: nothing to escape.
    pattern = new RegExp(`(?:${family}${suffixed ? '(?:_bucket|_count|_sum)?' : ''}${AFTER_NAME})*`, 'y');
    cache.set(family, pattern);
  }
  return pattern;
}

/** Line numbers for error messages, counted forward from the last position asked about. */
export class LineCounter {
  private pos = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  /** 1-based number of the line containing `pos`. */
  at(pos: number): number {
    if (pos < this.pos) {
      this.pos = 0;
      this.line = 1;
    }
    for (let i = this.text.indexOf('\n', this.pos); i >= 0 && i < pos; i = this.text.indexOf('\n', i + 1)) {
      this.line++;
    }
    this.pos = pos;
    return this.line;
  }
}

/**
 * Fills `parts` for a line that has already been checked (MetricsText); cheaper than scanning it again
 * because nothing needs checking: the label set ends at the line's last `}` (neither values nor
 * timestamps contain one).
 */
export function locateSampleParts(text: string, start: number, end: number, parts: SampleLineParts): void {
  let pos = start;
  while (pos < end && isNameChar(text.charCodeAt(pos), true)) pos++;
  parts.nameEnd = pos;
  parts.labelsStart = -1;
  if (text.charCodeAt(pos) === BRACE_OPEN) {
    parts.labelsStart = pos + 1;
    let close = end - 1;
    while (text.charCodeAt(close) !== BRACE_CLOSE) close--;
    parts.labelsEnd = close;
    pos = parts.labelsEnd + 1;
  }
  while (pos < end && isBlank(text.charCodeAt(pos))) pos++;
  parts.valueStart = pos;
  while (pos < end && !isBlank(text.charCodeAt(pos))) pos++;
  parts.valueEnd = pos;
}

/** The number a checked value text stands for. */
export function valueOf(text: string, start: number, end: number): number {
  const c = text.charCodeAt(end - 1);
  // Only Inf and NaN end in a letter; Number() reads every other accepted form.
  if (c === 102 /* f */) return text.charCodeAt(start) === MINUS ? -Infinity : Infinity;
  if (c === 78 /* N */) return NaN;
  return Number(text.slice(start, end));
}

/**
 * `text.startsWith(expected, pos)`, which V8 runs ≈5× slower on a member's 150 kB text than a
 * substring compared with ===.
 */
export function textAt(text: string, pos: number, expected: string): boolean {
  return text.slice(pos, pos + expected.length) === expected;
}

/** True when `text[start, end)` holds only whitespace (such lines are skipped). */
export function isBlankLine(text: string, start: number, end: number): boolean {
  // Metric lines start with a name character or '#'; only anything else is worth a regex.
  const c = text.charCodeAt(start);
  if (start === end) return true;
  if (c === HASH || isNameChar(c, true)) return false;
  return /^\s*$/.test(text.slice(start, end));
}
