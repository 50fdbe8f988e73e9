// The monitor merges clusters' re-exposed series as bytes (assembleReexposedBytes over encodeChunks);
// the golden exposition files check the text path (assembleReexposed). Both must give the same bytes.
import { describe, expect, it } from 'vitest';
import { FIELDS } from '../../src/config/fields.js';
import { ALL_METRICS } from '../../src/expose/metric-table.js';
import {
  assembleReexposed,
  assembleReexposedBytes,
  encodeChunks,
  renderFamilyChunks,
  type ReexposeSource,
} from '../../src/expose/reexpose.js';
import { parsePromText } from '../../src/protocol/prom-text/index.js';
import { ETCD_FIXTURE_VERSIONS, fixtureMetrics } from '../etcd/fixtures.js';

const ALLOW = FIELDS.reexposeAllow.defaultValue.map((p) => new RegExp(p));
const OWN = new Set(ALL_METRICS.map((d) => d.name));

describe('re-exposed series merged as bytes', () => {
  it('equal the UTF-8 of the text merge for clusters of etcd 3.4 and 3.5 members', () => {
    const parts = ETCD_FIXTURE_VERSIONS.flatMap((version, c) =>
      ['a', 'b'].map((suffix) => {
        const sources: ReexposeSource[] = ['leader-metrics.txt', 'follower-metrics.txt'].map((file, m) => ({
          cluster: `prod-${version}-${suffix}`,
          member: `member-${c}-${m}`,
          instance: `127.0.0.${c + 1}:${2379 + m}`,
          metrics: fixtureMetrics(file, version),
        }));
        return renderFamilyChunks(sources, ALLOW, OWN);
      }),
    );
    const text = assembleReexposed(parts);
    expect(text.split('\n').length).toBeGreaterThan(1000);
    expect(assembleReexposedBytes(parts.map(encodeChunks)).equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('keep multi-byte label values and HELP texts byte for byte', () => {
    const metrics = parsePromText(
      '# HELP etcd_debugging_x Grüße \\\\ aus “Zürich”\\n2\n# TYPE etcd_debugging_x gauge\n' +
        'etcd_debugging_x{zone="zürich-ß",quote="a\\"b"} 1\n',
    );
    const allow = [/^etcd_debugging_x$/];
    const parts = ['eins', 'zwei'].map((cluster) =>
      renderFamilyChunks([{ cluster, member: 'mitglied-ä', instance: 'h:1', metrics }], allow, OWN),
    );
    const text = assembleReexposed(parts);
    expect(text).toContain('zürich-ß');
    expect(assembleReexposedBytes(parts.map(encodeChunks)).equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('give an empty block when no cluster has series', () => {
    expect(assembleReexposedBytes([]).length).toBe(0);
    expect(assembleReexposed([])).toBe('');
  });
});
