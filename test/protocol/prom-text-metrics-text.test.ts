import { describe, expect, it } from 'vitest';
import { MetricsText } from '../../src/protocol/prom-text/metrics-text.js';
import { parseSampleAt } from '../../src/protocol/prom-text/sample.js';
import { MetricsParseError, sampleLineParts, scanSampleLine } from '../../src/protocol/prom-text/scan.js';
import { renderReexposed } from '../../src/expose/reexpose.js';
import { fixtureText } from '../etcd/fixtures.js';

const CAPTURES = [
  'leader-metrics.txt',
  'follower-metrics.txt',
  'load/leader-metrics-0.txt',
  'nospace/metrics-1.txt',
];

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/**
 * The reference verdict: every line on its own, HELP/TYPE lines by the format's regex and sample lines
 * by the exact scanner. MetricsText's one-regex-per-family check must agree with it everywhere.
 */
function exactVerdict(text: string): string {
  const parts = sampleLineParts();
  const lines = text.split('\n');
  let seen = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*$/.test(line)) continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue;
      if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(m[2] as string))
        return `line ${i + 1}: invalid metric name "${m[2]}"`;
      if (m[1] === 'TYPE' && !TYPES.has((m[3] ?? '').trim()))
        return `line ${i + 1}: unknown metric type "${m[3] ?? ''}"`;
      seen = true;
      continue;
    }
    try {
      scanSampleLine(line, 0, line.length, i + 1, parts);
      seen = true;
    } catch (err) {
      return (err as Error).message;
    }
  }
  return seen || text.trim() === '' ? 'ok' : 'line 1: no metrics found';
}

function fastVerdict(text: string): string {
  try {
    new MetricsText(text);
    return 'ok';
  } catch (err) {
    if (!(err instanceof MetricsParseError)) throw err;
    return err.message;
  }
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('MetricsText (one regex per family block) agrees with the exact line-by-line check', () => {
  it.each(CAPTURES)('%s is accepted by both', (file) => {
    expect(fastVerdict(fixtureText(file))).toBe('ok');
    expect(exactVerdict(fixtureText(file))).toBe('ok');
  });

  it('on 3,000 single-character mutations of captured lines: same verdict, same first bad line', () => {
    const next = random(20261123);
    const lines = fixtureText('leader-metrics.txt').split('\n').slice(0, 400);
    const alphabet = ' \t{}",=\\#.+-eE0123456789abcxyzInfNa_:\r';
    let rejected = 0;
    for (let n = 0; n < 3000; n++) {
      const copy = [...lines];
      const at = Math.floor(next() * copy.length);
      const line = copy[at] as string;
      const pos = Math.floor(next() * (line.length + 1));
      const ch = alphabet[Math.floor(next() * alphabet.length)] as string;
      const kind = Math.floor(next() * 3);
      copy[at] =
        kind === 0
          ? line.slice(0, pos) + ch + line.slice(pos)
          : kind === 1
            ? line.slice(0, pos) + line.slice(pos + 1)
            : line.slice(0, pos) + ch + line.slice(pos + 1);
      const text = copy.join('\n');
      const exact = exactVerdict(text);
      expect(fastVerdict(text), `mutated line ${at + 1}: ${JSON.stringify(copy[at])}`).toBe(exact);
      if (exact !== 'ok') rejected++;
    }
    // The mutations must exercise both outcomes for the comparison to mean anything.
    expect(rejected).toBeGreaterThan(500);
    expect(rejected).toBeLessThan(2900);
  });
});

describe('MetricsText parses families lazily, exactly as a line-by-line parse would', () => {
  it.each(CAPTURES)('%s: every family equals the per-line parse of its lines', (file) => {
    const text = fixtureText(file);
    const metrics = new MetricsText(text);
    // Reference: each sample line parsed on its own, grouped by the family the text declares.
    const parts = sampleLineParts();
    const expected = new Map<string, ReturnType<typeof parseSampleAt>[]>();
    let family = '';
    let pos = 0;
    for (const line of text.split('\n')) {
      const start = pos;
      pos += line.length + 1;
      const header = /^# (?:HELP|TYPE) (\S+)/.exec(line);
      if (header) family = header[1] as string;
      if (line === '' || line.startsWith('#')) continue;
      expected.set(family, [
        ...(expected.get(family) ?? []),
        parseSampleAt(text, start, start + line.length, parts),
      ]);
    }
    for (const [name, samples] of expected) expect(metrics.get(name)?.samples, name).toEqual(samples);
    // A second read of another member's capture (hints from the first in place) changes nothing.
    const again = new MetricsText(text);
    for (const [name, samples] of expected) expect(again.get(name)?.samples, name).toEqual(samples);
  });

  it('reads a family whose label sets differ from the previous parse of the same family', () => {
    const a = new MetricsText('# TYPE x gauge\nx{a="1"} 1\nx{a="2"} 2\n');
    expect(a.get('x')?.samples.map((s) => s.labels)).toEqual([{ a: '1' }, { a: '2' }]);
    const b = new MetricsText('# TYPE x gauge\nx{a="2"} 3\nx{a="10"} 4\nx{b="1"} 5\n');
    expect(b.get('x')?.samples).toEqual([
      { name: 'x', labels: { a: '2' }, value: 3 },
      { name: 'x', labels: { a: '10' }, value: 4 },
      { name: 'x', labels: { b: '1' }, value: 5 },
    ]);
  });

  it('rejects text after a value that is not a timestamp (Prometheus would reject the scrape)', () => {
    expect(() => new MetricsText('a 1 junk\n')).toThrow(/line 1: unexpected "junk" after the value of "a"/);
    expect(new MetricsText('a{b="c"} 1 1700000000000\n').get('a')?.samples[0]?.value).toBe(1);
  });
});

describe('re-exposure copies lines as written, or falls back to rendering parsed samples', () => {
  const reexpose = (text: string) =>
    renderReexposed(
      [{ cluster: 'c', member: 'm', instance: 'h:2379', metrics: new MetricsText(text) }],
      [/^x/],
      new Set(),
    );

  it('splices our labels into plain lines and keeps values and timestamps as written', () => {
    const out = reexpose('# TYPE x gauge\nx{a="1"} 1.50e+01\nx 2 1700000000000\nx{} 3\n');
    expect(out).toContain('x{cluster="c",member="m",instance="h:2379",a="1"} 1.50e+01\n');
    expect(out).toContain('x{cluster="c",member="m",instance="h:2379"} 2 1700000000000\n');
    expect(out).toContain('x{cluster="c",member="m",instance="h:2379"} 3\n');
  });

  it.each([
    ['a comment among the lines', '# TYPE x gauge\nx{a="1"} 1\n# a comment\nx{a="2"} 2\n'],
    ['a blank line among the lines', '# TYPE x gauge\nx{a="1"} 1\n\nx{a="2"} 2\n'],
    ['CRLF line ends', '# TYPE x gauge\r\nx{a="1"} 1\r\nx{a="2"} 2\r\n'],
  ])('%s: rendered from parsed samples, every line still well-formed', (_, text) => {
    const out = reexpose(text);
    expect(out).toContain('x{cluster="c",member="m",instance="h:2379",a="1"} 1\n');
    expect(out).toContain('x{cluster="c",member="m",instance="h:2379",a="2"} 2\n');
    expect(out).not.toContain('\r');
    expect(out).not.toContain('# a comment');
  });
});
