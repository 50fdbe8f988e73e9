import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIELDS } from '../../src/config/fields.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import {
  assembleReexposed,
  DEFAULT_REEXPOSE_MAX_SERIES,
  renderCluster,
  renderFamilyChunks,
  type ReexposeSource,
} from '../../src/expose/reexpose.js';
import { parsePromText } from '../../src/protocol/prom-text/index.js';
import type { MetricFamily, ParsedMetrics } from '../../src/protocol/prom-text/types.js';
import { ConfigError } from '../../src/util/errors.js';
import { ETCD_FIXTURE_VERSIONS, FIXTURE_DIR, fixtureText } from '../etcd/fixtures.js';

const ALLOW = FIELDS.reexposeAllow.defaultValue.map((p) => new RegExp(p));
const OWN = new Set(ALL_METRICS.map((d) => d.name));

/** Every /metrics capture of a real etcd member (the same files exist for etcd 3.4 and 3.5). */
const CAPTURES = ['', 'load', 'nospace', 'no-leader'].flatMap((dir) =>
  readdirSync(path.join(FIXTURE_DIR, dir))
    .filter((f) => f.endsWith('.txt'))
    .map((f) => (dir ? `${dir}/${f}` : f)),
);

/**
 * Re-exposed lines of one member, at most, read off the captures: etcd 3.4 404 (the follower of the
 * top-level captures; a twentieth of the default cap), etcd 3.5 516 (its leader: 3.5 serves more families).
 */
const MAX_REEXPOSED = { '3.4': DEFAULT_REEXPOSE_MAX_SERIES / 20, '3.5': 600 } as const;

const source = (member: string, text: string): ReexposeSource => ({
  cluster: 'c',
  member,
  instance: `${member}.example:2379`,
  metrics: parsePromText(text),
});
const lineCount = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
const render = (sources: readonly ReexposeSource[], max: number) => {
  const { chunks, overCap } = renderCluster(sources, ALLOW, OWN, max);
  return { text: assembleReexposed([chunks]), overCap };
};

/** A real member's text plus `extra` series of one re-exposed family (a label-cardinality explosion). */
function hostile(extra: number, family = 'etcd_server_requests_by_key_total'): string {
  const lines = [`# HELP ${family} Requests per key.`, `# TYPE ${family} counter`];
  for (let i = 0; i < extra; i++) lines.push(`${family}{key="/registry/pods/pod-${i}"} ${i % 7}`);
  return `${fixtureText('follower-metrics.txt')}${lines.join('\n')}\n`;
}

describe('--reexpose-max-series against real etcd 3.4 and 3.5 captures', () => {
  it('finds the captures', () => {
    expect(CAPTURES.length).toBeGreaterThanOrEqual(12);
  });

  it.each(ETCD_FIXTURE_VERSIONS.flatMap((version) => CAPTURES.map((file) => [version, file] as const)))(
    'etcd %s %s: a real member is far below the default cap and kept whole',
    (version, file) => {
      const text = fixtureText(file, version);
      const alone = render([source('m', text)], Infinity);
      const capped = render([source('m', text)], DEFAULT_REEXPOSE_MAX_SERIES);
      expect(capped.overCap.size).toBe(0);
      expect(capped.text).toBe(alone.text);
      // Re-exposed lines and even every sample line the member serves (≈1,300 on 3.4, ≈1,460 on 3.5) are
      // far below it.
      expect(lineCount(alone.text)).toBeLessThan(MAX_REEXPOSED[version]);
      expect(lineCount(text) * 5).toBeLessThan(DEFAULT_REEXPOSE_MAX_SERIES);
    },
  );

  it('the flag defaults to the same number, 0 means no cap, and a negative value is refused naming the flag', () => {
    expect(FIELDS.reexposeMaxSeries.defaultValue).toBe(DEFAULT_REEXPOSE_MAX_SERIES);
    const at = (flags: Record<string, string>) => resolveConfig({ flags, env: {} }).reexpose.maxSeries;
    expect(at({})).toBe(10_000);
    expect(at({ 'reexpose-max-series': '2500' })).toBe(2500);
    expect(at({ 'reexpose-max-series': '0' })).toBe(Infinity);
    expect(
      resolveConfig({ flags: {}, env: { ETCD_MONITOR_REEXPOSE_MAX_SERIES: '77' } }).reexpose.maxSeries,
    ).toBe(77);
    for (const bad of ['-1', '1.5', 'lots']) {
      let err: unknown;
      try {
        at({ 'reexpose-max-series': bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('--reexpose-max-series');
    }
  });

  it('a cluster may set its own cap in the config file (clusters[].reexpose_max_series); a bad one names the entry', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'reexpose-cap-'));
    try {
      const file = (text: string) => {
        const f = path.join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
        writeFileSync(f, text);
        return f;
      };
      const config = resolveConfig({
        flags: {
          config: file(
            [
              'reexpose_max_series: 3000',
              'clusters:',
              '  - name: big',
              '    endpoints: [127.0.0.1:2379]',
              '    reexpose_max_series: 50000',
              '  - name: open',
              '    endpoints: [127.0.0.1:2380]',
              '    reexpose_max_series: 0',
              '  - name: plain',
              '    endpoints: [127.0.0.1:2381]',
              '',
            ].join('\n'),
          ),
        },
        env: {},
      });
      expect(config.reexpose.maxSeries).toBe(3000);
      expect(config.clusters.map((c) => [c.name, c.reexposeMaxSeries])).toEqual([
        ['big', 50_000],
        ['open', Infinity],
        ['plain', undefined],
      ]);
      let err: unknown;
      try {
        resolveConfig({
          flags: {
            config: file(
              'clusters:\n  - name: a\n    endpoints: [127.0.0.1:2379]\n    reexpose_max_series: -5\n',
            ),
          },
          env: {},
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toMatch(/clusters\[0\]\.reexpose_max_series$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The exact boundary: the member's own re-exposed line count.
  const FOLLOWER = fixtureText('follower-metrics.txt');
  const followerLines = lineCount(render([source('f', FOLLOWER)], Infinity).text);
  it.each([
    ['exactly at the cap', followerLines, false],
    ['one line over the cap', followerLines - 1, true],
    ['far over the cap', 10, true],
    ['a cap of 1', 1, true],
  ])('a member %s is %s', (_, max, dropped) => {
    const { text, overCap } = render([source('f', FOLLOWER)], max);
    expect(overCap.has('f')).toBe(dropped);
    expect(lineCount(text)).toBe(dropped ? 0 : followerLines);
    // Nothing half-rendered: no HELP/TYPE without samples.
    if (dropped) expect(text).toBe('');
  });

  it.each([0, 1, 2])(
    'a hostile member at position %i among three is dropped whole and the others are byte-identical',
    (at) => {
      const healthy = [source('leader', fixtureText('leader-metrics.txt')), source('follower', FOLLOWER)];
      const sources = [...healthy];
      sources.splice(at, 0, source('bad', hostile(150_000)));
      const { text, overCap } = render(sources, DEFAULT_REEXPOSE_MAX_SERIES);
      expect([...overCap]).toEqual(['bad']);
      expect(text).toBe(render(healthy, Infinity).text);
      expect(text).not.toContain('member="bad"');
      expect(text).not.toContain('etcd_server_requests_by_key_total');
      expect(Buffer.byteLength(text)).toBeLessThan(300_000);
    },
  );

  it('counts only re-exposed lines: 150,000 series of a family the allow list leaves out cost nothing', () => {
    const { text, overCap } = render([source('m', hostile(150_000, 'some_other_app_total'))], 10_000);
    expect(overCap.size).toBe(0);
    expect(text).toBe(render([source('m', FOLLOWER)], Infinity).text);
  });

  it('counts after the gRPC filter: pre-created series of methods never served do not count', () => {
    // etcd pre-creates ≈700 gRPC lines per member; the follower capture has served only a few methods.
    const all = lineCount(assembleReexposed([renderFamilyChunks([source('m', FOLLOWER)], [/./], OWN)]));
    const { overCap } = renderCluster([source('m', FOLLOWER)], ALLOW, OWN, followerLines);
    expect(all).toBeGreaterThan(followerLines);
    expect(overCap.size).toBe(0);
  });

  it('applies to parsed families that are not MetricsText (plain maps) the same way', () => {
    const parsed = parsePromText(hostile(20_000));
    const plain: ParsedMetrics = new Map<string, MetricFamily>(
      [...parsed.keys()].map((k) => [k, parsed.get(k) as MetricFamily]),
    );
    const keep = {
      cluster: 'c',
      member: 'ok',
      instance: 'ok.example:2379',
      metrics: parsePromText(FOLLOWER),
    };
    const { chunks, overCap } = renderCluster(
      [{ cluster: 'c', member: 'bad', instance: 'bad.example:2379', metrics: plain }, keep],
      ALLOW,
      OWN,
      10_000,
    );
    expect([...overCap]).toEqual(['bad']);
    expect(assembleReexposed([chunks])).toBe(render([keep], Infinity).text);
  });

  it('without a cap (Infinity) renders the same as renderFamilyChunks', () => {
    const sources = [source('bad', hostile(20_000)), source('f', FOLLOWER)];
    const { chunks, overCap } = renderCluster(sources, ALLOW, OWN, Infinity);
    expect(overCap.size).toBe(0);
    expect(assembleReexposed([chunks])).toBe(assembleReexposed([renderFamilyChunks(sources, ALLOW, OWN)]));
    expect(lineCount(assembleReexposed([chunks]))).toBe(20_000 + 2 * followerLines);
  });
});
