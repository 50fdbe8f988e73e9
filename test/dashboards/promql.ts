/**
 * Just enough PromQL lexing to find the vector selectors in a dashboard query: the metric name and its
 * label matchers. Function names, aggregation keywords, grouping label lists, strings and range durations
 * are skipped. Not a full parser; the query test runs every expression through real Prometheus anyway.
 */

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface Selector {
  metric: string;
  matchers: Matcher[];
}

type Token = { kind: 'ident' | 'string' | 'punct' | 'number' | 'range'; text: string };

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

function lex(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      let value = '';
      while (j < expr.length && expr[j] !== ch) {
        if (expr[j] === '\\' && ch !== '`') j++;
        value += expr[j] ?? '';
        j++;
      }
      if (j >= expr.length) throw new Error(`unterminated string in: ${expr}`);
      tokens.push({ kind: 'string', text: value });
      i = j + 1;
    } else if (ch === '[') {
      const j = expr.indexOf(']', i);
      if (j < 0) throw new Error(`unterminated range in: ${expr}`);
      tokens.push({ kind: 'range', text: expr.slice(i + 1, j) });
      i = j + 1;
    } else if (/[A-Za-z_:]/.test(ch)) {
      const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9.]/.test(ch)) {
      const m = /^[0-9.]+(e[+-]?[0-9]+)?[a-z]*/i.exec(expr.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else {
      const two = expr.slice(i, i + 2);
      const op = ['=~', '!~', '!=', '==', '>=', '<='].includes(two) ? two : ch;
      tokens.push({ kind: 'punct', text: op });
      i += op.length;
    }
  }
  return tokens;
}

/** Every vector selector in the expression, in order of appearance. */
export function selectors(expr: string): Selector[] {
  const tokens = lex(expr);
  const out: Selector[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    if (t.kind === 'ident' && GROUPING.has(t.text)) {
      // Skip the label list of by (...), on (...), group_left (...).
      if (next?.text === '(') i = tokens.findIndex((x, k) => k > i && x.text === ')');
      continue;
    }
    // Functions, operators, and aggregations written as `sum by (...) (...)`.
    const aggregation = next?.kind === 'ident' && (next.text === 'by' || next.text === 'without');
    if (t.kind === 'ident' && (KEYWORDS.has(t.text) || next?.text === '(' || aggregation)) continue;
    if (t.kind === 'ident' || (t.kind === 'punct' && t.text === '{')) {
      const metric = t.kind === 'ident' ? t.text : '';
      const matchers: Matcher[] = [];
      let k = t.kind === 'ident' ? i + 1 : i;
      if (tokens[k]?.text === '{') {
        k++;
        while (k < tokens.length && tokens[k]!.text !== '}') {
          const label = tokens[k];
          const op = tokens[k + 1];
          const value = tokens[k + 2];
          if (label?.kind !== 'ident' || op?.kind !== 'punct' || value?.kind !== 'string') {
            throw new Error(`cannot read label matcher near "${label?.text ?? ''}" in: ${expr}`);
          }
          matchers.push({ label: label.text, op: op.text as Matcher['op'], value: value.text });
          k += 3;
          if (tokens[k]?.text === ',') k++;
        }
      }
      out.push({ metric, matchers });
      i = k;
    }
  }
  return out;
}

/** Replaces Grafana's variables the way Grafana would for the given values. */
export function substitute(expr: string, vars: Record<string, string>): string {
  return expr.replace(/\$(__[a-z_]+|[a-z]+)\b/gi, (whole, name: string) => vars[name] ?? whole);
}
