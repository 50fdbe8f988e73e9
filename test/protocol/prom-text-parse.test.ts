import { describe, expect, it } from 'vitest';
import { MetricsParseError, parsePromText, samplesOf, sumOf } from '../../src/protocol/prom-text/index.js';
import { fixtureMetrics, fixtureText } from '../etcd/fixtures.js';

const CAPTURES = [
  'leader-metrics.txt',
  'follower-metrics.txt',
  'load/leader-metrics-0.txt',
  'load/leader-metrics-2.txt',
  'load/follower-metrics-after-restart.txt',
  'nospace/metrics-1.txt',
  'no-leader/metrics.txt',
];

/** HELP and TYPE lines of a capture read line by line, independently of the parser under test. */
function declared(text: string) {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  let samples = 0;
  for (const line of text.split('\n')) {
    const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) (m[1] === 'HELP' ? help : type).set(m[2] as string, m[3] as string);
    else if (line !== '' && !line.startsWith('#')) samples++;
  }
  return { help, type, samples };
}

function expectParseError(text: string, line: number, message: RegExp): void {
  let caught: unknown;
  try {
    parsePromText(text);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(MetricsParseError);
  const err = caught as MetricsParseError;
  expect(err.code).toBe('METRICS_PARSE');
  expect(err.line).toBe(line);
  expect(err.message).toMatch(new RegExp(`^line ${line}: `));
  expect(err.message).toMatch(message);
}

describe('parsePromText on real etcd 3.4 captures', () => {
  it.each(CAPTURES)('%s: one family per TYPE line, with the declared type and HELP', (file) => {
    const text = fixtureText(file);
    const { help, type, samples } = declared(text);
    const parsed = fixtureMetrics(file);
    expect(parsed.size).toBe(type.size);
    for (const [name, declaredType] of type) {
      const family = parsed.get(name);
      expect(family, name).toBeDefined();
      expect(family?.type, name).toBe(declaredType);
      // etcd's HELP texts contain no escapes, so the unescaped text is the text as written.
      expect(family?.help, name).toBe(help.get(name));
    }
    const parsedSamples = [...parsed.values()].reduce((n, f) => n + f.samples.length, 0);
    expect(parsedSamples).toBe(samples);
  });

  it('the leader capture has the family mix etcd 3.4.23 exports', () => {
    const counts: Record<string, number> = {};
    for (const family of fixtureMetrics('leader-metrics.txt').values())
      counts[family.type] = (counts[family.type] ?? 0) + 1;
    // From `grep '^# TYPE' leader-metrics.txt | awk '{print $4}' | sort | uniq -c`.
    expect(counts).toEqual({ counter: 43, gauge: 64, histogram: 19, summary: 1 });
  });

  it.each(CAPTURES)('%s: histogram and summary samples are grouped under their family', (file) => {
    const parsed = fixtureMetrics(file);
    for (const family of parsed.values()) {
      if (family.type !== 'histogram' && family.type !== 'summary') continue;
      for (const suffix of ['_bucket', '_sum', '_count'])
        expect(parsed.has(family.name + suffix)).toBe(false);
      const names = new Set(family.samples.map((s) => s.name));
      expect(names.has(`${family.name}_sum`), family.name).toBe(true);
      expect(names.has(`${family.name}_count`), family.name).toBe(true);
      if (family.type === 'histogram') expect(names.has(`${family.name}_bucket`), family.name).toBe(true);
    }
  });

  it('reads a histogram of the leader capture exactly', () => {
    const family = fixtureMetrics('leader-metrics.txt').get('etcd_disk_wal_fsync_duration_seconds');
    expect(family?.type).toBe('histogram');
    expect(family?.help).toBe('The latency distributions of fsync called by WAL.');
    const buckets = family?.samples.filter((s) => s.name.endsWith('_bucket')) ?? [];
    expect(buckets.map((s) => s.labels['le'])).toEqual([
      '0.001',
      '0.002',
      '0.004',
      '0.008',
      '0.016',
      '0.032',
      '0.064',
      '0.128',
      '0.256',
      '0.512',
      '1.024',
      '2.048',
      '4.096',
      '8.192',
      '+Inf',
    ]);
    expect(buckets.map((s) => s.value)).toEqual([33, 34, ...Array<number>(13).fill(35)]);
    expect(family?.samples.find((s) => s.name.endsWith('_sum'))?.value).toBe(0.016476205);
    expect(family?.samples.find((s) => s.name.endsWith('_count'))?.value).toBe(35);
  });

  it('reads labels and exponent notation as etcd writes them', () => {
    const m = fixtureMetrics('leader-metrics.txt');
    expect(samplesOf(m, 'etcd_server_id')[0]?.labels).toEqual({ server_id: 'e1adf9c8a32dbc58' });
    expect(sumOf(m, 'etcd_server_quota_backend_bytes')).toBe(2_147_483_648);
    const peers = samplesOf(m, 'etcd_network_active_peers');
    expect(peers.map((s) => s.labels['Remote']).sort()).toEqual(['6bff9b7a1a79f0bd', '78bfa9abf1072b91']);
    expect(sumOf(m, 'etcd_network_active_peers')).toBe(2);
    expect(sumOf(m, 'etcd_network_active_peers', (l) => l['Remote'] === '78bfa9abf1072b91')).toBe(1);
    expect(sumOf(m, 'no_such_family')).toBeUndefined();
  });
});

describe('parsePromText on hand-written exposition text', () => {
  it('unescapes label values and HELP', () => {
    const parsed = parsePromText(
      [
        '# HELP x_info Path C:\\\\etcd and a\\nnewline.',
        '# TYPE x_info gauge',
        'x_info{path="C:\\\\etcd\\\\data",quote="say \\"hi\\"",nl="a\\nb",empty=""} 1',
        '',
      ].join('\n'),
    );
    const family = parsed.get('x_info');
    expect(family?.help).toBe('Path C:\\etcd and a\nnewline.');
    expect(family?.samples[0]?.labels).toEqual({
      path: 'C:\\etcd\\data',
      quote: 'say "hi"',
      nl: 'a\nb',
      empty: '',
    });
  });

  it.each([
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['1e-3', 0.001],
    ['-2.5E+2', -250],
    ['.5', 0.5],
  ])('reads the value %s', (text, value) => {
    expect(parsePromText(`v ${text}\n`).get('v')?.samples[0]?.value).toBe(value);
  });

  it('reads NaN and ignores a trailing timestamp', () => {
    expect(parsePromText('v NaN\n').get('v')?.samples[0]?.value).toBeNaN();
    expect(parsePromText('v{a="b"} 3 1700000000000\n').get('v')?.samples[0]?.value).toBe(3);
  });

  it.each([
    ['empty text', ''],
    ['blank lines', '\n\n  \n'],
  ])('%s gives no families', (_, text) => {
    expect(parsePromText(text).size).toBe(0);
  });

  const leaderLines = () => fixtureText('leader-metrics.txt').split('\n');
  const lineOf = (lines: string[], prefix: string) => lines.findIndex((l) => l.startsWith(prefix));

  it.each([
    [
      'an HTML error page',
      '<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n',
      1,
      /expected a metric name/,
    ],
    ['a JSON body', '{"health":"true"}', 1, /expected a metric name/],
    [
      'binary bytes',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]).toString('utf8'),
      1,
      /expected a metric name/,
    ],
    ['a sample without a value', 'ok 1\netcd_server_has_leader\n', 2, /has no value/],
    [
      'a value that is not a number',
      'ok 1\nok 2\netcd_server_has_leader 1x\n',
      3,
      /invalid sample value "1x"/,
    ],
    ['an unterminated label value', 'a{b="c\n', 1, /unterminated label value/],
    ['a label without quotes', 'a{b=c} 1\n', 1, /malformed label set/],
    ['an unknown TYPE', '# TYPE a gauge\n# TYPE b histgram\n', 2, /unknown metric type/],
    ['an invalid name in TYPE', '# TYPE 1abc gauge\n', 1, /invalid metric name/],
    // Non-empty text without a single sample or HELP/TYPE is not an (empty) exposition.
    ['comments only', '# served by nginx\n', 1, /no metrics found/],
  ])('%s throws MetricsParseError with its line number', (_, text, line, message) => {
    expectParseError(text, line, message);
  });

  it('a capture cut inside a label set fails at the cut line', () => {
    const lines = leaderLines();
    const at = lineOf(lines, 'etcd_network_active_peers{');
    const cut = [...lines.slice(0, at), (lines[at] as string).slice(0, 40)].join('\n');
    expectParseError(cut, at + 1, /unterminated label value/);
  });

  it('a capture with garbage spliced into the middle fails at that line', () => {
    const lines = leaderLines();
    const at = lineOf(lines, 'etcd_server_has_leader ');
    lines.splice(at, 0, 'Internal Server Error');
    expectParseError(lines.join('\n'), at + 1, /invalid sample value "Server"/);
  });
});
