import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { clustersOfShard, hashmod, ordinalOf, resolveShard } from '../../src/config/shard.js';
import { ConfigError } from '../../src/util/errors.js';

// Pure: the shard assignment and its config resolution. test/exporter/sharding.test.ts checks the same
// assignment against a real Prometheus' hashmod relabelling and runs real replicas.

describe('hashmod (Prometheus relabel action)', () => {
  // The last 8 bytes of md5(name) as a big-endian uint64, computed apart from the code under test
  // (python3 hashlib.md5), e.g. md5("main") = fad58de7366495db 4650cfefac2fcd61 -> 0x4650cfefac2fcd61.
  it.each([
    ['default', '4890996671249282690', 0, 2, 0],
    ['main', '5066778209084755297', 1, 1, 2],
    ['kubernetes', '8772829991979557125', 1, 1, 0],
    ['prod-eu-1', '18070457518028468141', 1, 2, 1],
    ['c0', '4633109745189078952', 0, 1, 2],
    ['c5', '7384423173868097388', 0, 0, 3],
    ['c9', '7356151771266338655', 1, 0, 0],
    ['', '16825458760271544958', 0, 1, 3],
  ])('%s (uint64 %s) -> %i mod 2, %i mod 3, %i mod 5', (name, uint64, mod2, mod3, mod5) => {
    expect(hashmod(name, 2)).toBe(mod2);
    expect(hashmod(name, 3)).toBe(mod3);
    expect(hashmod(name, 5)).toBe(mod5);
    // Above 2^53: the modulo must be taken on the exact 64-bit value, not a rounded double.
    expect(hashmod(name, 1_000_003)).toBe(Number(BigInt(uint64) % 1_000_003n));
    expect(hashmod(name, 1)).toBe(0);
  });
});

describe('ordinalOf', () => {
  it.each([
    ['etcd-monitor-0', 0],
    ['etcd-monitor-12', 12],
    ['web-2', 2],
    ['etcd-monitor', undefined],
    ['etcd-monitor-', undefined],
    ['etcd-monitor-01', undefined],
    ['etcd-monitor-7d9f8b6c5-x2x4q', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s -> %s', (hostname, ordinal) => {
    expect(ordinalOf(hostname)).toBe(ordinal);
  });
});

describe('resolveShard', () => {
  const fail = (fn: () => unknown): ConfigError => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('did not throw');
  };

  it('is no sharding by default, whatever the hostname', () => {
    expect(resolveShard(1, undefined, 'etcd-monitor-7d9f8b6c5-x2x4q', '--shard-index')).toEqual({
      index: 0,
      count: 1,
    });
  });

  it('takes the StatefulSet ordinal when the index is not given', () => {
    expect(resolveShard(3, undefined, 'etcd-monitor-2', '--shard-index')).toEqual({ index: 2, count: 3 });
  });

  it('a given index wins over the hostname', () => {
    expect(resolveShard(3, 1, 'etcd-monitor-2', '--shard-index')).toEqual({ index: 1, count: 3 });
  });

  it('refuses an index at or above the count, naming where it came from', () => {
    const err = fail(() => resolveShard(3, 3, undefined, 'ETCD_MONITOR_SHARD_INDEX'));
    expect(err.field).toBe('ETCD_MONITOR_SHARD_INDEX');
    expect(err.message).toBe(
      'invalid configuration: ETCD_MONITOR_SHARD_INDEX: must be below --shard-count 3, got 3',
    );
  });

  it('refuses a hostname without an ordinal when one is needed', () => {
    const err = fail(() => resolveShard(3, undefined, 'etcd-monitor-7d9f8b6c5-x2x4q', '--shard-index'));
    expect(err.field).toBe('--shard-index');
    expect(err.message).toContain('"etcd-monitor-7d9f8b6c5-x2x4q" has no StatefulSet ordinal');
  });

  it('refuses an ordinal at or above the count (replicas and --shard-count disagree)', () => {
    const err = fail(() => resolveShard(3, undefined, 'etcd-monitor-3', '--shard-index'));
    expect(err.message).toContain(
      'the ordinal 3 of $HOSTNAME "etcd-monitor-3" must be below --shard-count 3',
    );
  });
});

describe('clustersOfShard through resolveConfig', () => {
  const names = Array.from({ length: 10 }, (_, i) => `c${i}`);
  /** Ten ClusterConfigs; the assignment reads only their names. */
  const clusters = names.map((name) => ({
    name,
    endpoints: ['http://127.0.0.1:2379'],
    tags: {},
    discoverMembers: true,
    thresholds: { maxLatencyMs: 1, maxDbSizeBytes: 1, minAvailableNodes: 1, maxLeaderChangesPerHour: 1 },
  }));

  it('puts every cluster in exactly one of the shards, the one hashmod names', () => {
    const shards = [0, 1, 2].map((index) =>
      clustersOfShard(clusters, { index, count: 3 }).map((c) => c.name),
    );
    expect(shards).toEqual([
      ['c5', 'c9'],
      ['c0', 'c1', 'c6', 'c8'],
      ['c2', 'c3', 'c4', 'c7'],
    ]);
    expect(shards.flat().sort()).toEqual(names);
  });

  it('keeps every cluster when not sharded', () => {
    expect(clustersOfShard(clusters, { index: 0, count: 1 })).toBe(clusters);
  });

  it('resolves flags, env and $HOSTNAME into config.shard and filters the clusters', () => {
    const one = resolveConfig({ flags: { 'cluster-name': 'default' }, env: {} });
    expect(one.shard).toEqual({ index: 0, count: 1 });
    expect(one.clusters.map((c) => c.name)).toEqual(['default']);
    // "default" hashes to 0 mod 2: replica 1 of 2 has nothing to watch, and that is valid.
    const other = resolveConfig({
      flags: { 'cluster-name': 'default' },
      env: { ETCD_MONITOR_SHARD_COUNT: '2', HOSTNAME: 'etcd-monitor-1' },
    });
    expect(other.shard).toEqual({ index: 1, count: 2 });
    expect(other.clusters).toEqual([]);
    const flagged = resolveConfig({
      flags: { 'cluster-name': 'default', 'shard-count': '2', 'shard-index': '0' },
      env: { HOSTNAME: 'etcd-monitor-1' },
    });
    expect(flagged.shard).toEqual({ index: 0, count: 2 });
    expect(flagged.clusters.map((c) => c.name)).toEqual(['default']);
  });

  it.each([
    [{ 'shard-count': '0' }, {}, '--shard-count: must be between 1 and 1000, got 0'],
    [{ 'shard-count': '2.5' }, {}, '--shard-count: expected a whole number, got "2.5"'],
    [{ 'shard-count': '3', 'shard-index': '-1' }, {}, '--shard-index: must be between 0 and 999, got -1'],
    [{ 'shard-count': '3', 'shard-index': 'one' }, {}, '--shard-index: expected a whole number, got "one"'],
    [{ 'shard-count': '3' }, { ETCD_MONITOR_SHARD_INDEX: '5' }, 'ETCD_MONITOR_SHARD_INDEX: must be below'],
    [{ 'shard-count': '3' }, { HOSTNAME: 'laptop' }, '--shard-index: not given, and $HOSTNAME "laptop"'],
  ])('flags %j env %j: %s', (flags, env, message) => {
    expect(() => resolveConfig({ flags, env })).toThrow(message);
  });
});
