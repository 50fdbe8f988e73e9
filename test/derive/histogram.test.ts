import { describe, expect, it } from 'vitest';
import { bucketDelta, bucketsOf, quantile, type Buckets } from '../../src/derive/histogram.js';
import { ETCD_FIXTURE_VERSIONS, fixtureMetrics, type EtcdFixtureVersion } from '../etcd/fixtures.js';

const WAL = 'etcd_disk_wal_fsync_duration_seconds';
const EDGES = [
  0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192,
];

/**
 * What the WAL fsync histogram of each version's captures holds, read off the files (a number here was
 * checked against the capture, never carried over from the other version).
 */
const CAPTURED: Record<
  EtcdFixtureVersion,
  {
    /** leader-metrics.txt: cumulative bucket counts, +Inf last. */
    readonly leaderCounts: readonly number[];
    /** histogram_quantile of leader-metrics.txt for q = 0.5, 0.9, 0.95, 0.99, 1, worked out by hand. */
    readonly leaderQuantiles: readonly (readonly [number, number])[];
    /** load/leader-metrics-0.txt → -1.txt: cumulative deltas at 1, 2, 4, 8 ms and in total. */
    readonly loadDeltaHead: readonly number[];
    readonly loadDeltaTotal: number;
    /** The delta's p99 bucket: lower edge, width, cumulative count below it and observations in it. */
    readonly loadP99Bucket: readonly [number, number, number, number];
  }
> = {
  '3.4': {
    // 35 fsyncs; 33 ≤ 1 ms, 1 in (1, 2] ms, 1 in (2, 4] ms.
    leaderCounts: [33, 34, ...Array<number>(13).fill(35)],
    leaderQuantiles: [
      // rank 0.5·35 = 17.5 falls in the first bucket (0, 0.001]: 0.001 · 17.5/33
      [0.5, 0.001 * (17.5 / 33)],
      // rank 0.9·35 = 31.5: still the first bucket
      [0.9, 0.001 * (31.5 / 33)],
      // rank 0.95·35 = 33.25: bucket (0.001, 0.002] holding 1 observation, 0.25 of the way in
      [0.95, 0.001 + 0.001 * 0.25],
      // rank 0.99·35 = 34.65: bucket (0.002, 0.004], 0.65 of the way in
      [0.99, 0.002 + 0.002 * 0.65],
      [1, 0.004],
    ],
    // 990 → 4548 fsyncs; cumulative deltas 2855, 3358, 3504, 3544 at 1, 2, 4, 8 ms.
    loadDeltaHead: [2855, 3358, 3504, 3544],
    loadDeltaTotal: 3558,
    // rank 0.99·3558 = 3522.42 lies in (0.004, 0.008] which holds 3544 − 3504 = 40
    loadP99Bucket: [0.004, 0.004, 3504, 40],
  },
  '3.5': {
    // 31 fsyncs; 16 ≤ 1 ms, 14 in (1, 2] ms, none in (2, 4] ms, 1 in (4, 8] ms.
    leaderCounts: [16, 30, 30, ...Array<number>(12).fill(31)],
    leaderQuantiles: [
      // rank 0.5·31 = 15.5 falls in the first bucket (0, 0.001]: 0.001 · 15.5/16
      [0.5, 0.001 * (15.5 / 16)],
      // rank 0.9·31 = 27.9: bucket (0.001, 0.002] holding 14, (27.9 − 16)/14 of the way in
      [0.9, 0.001 + 0.001 * ((27.9 - 16) / 14)],
      // rank 0.95·31 = 29.45: the same bucket, (29.45 − 16)/14 of the way in
      [0.95, 0.001 + 0.001 * ((29.45 - 16) / 14)],
      // rank 0.99·31 = 30.69: past the empty (0.002, 0.004], in (0.004, 0.008] holding 1, 0.69 of the way
      [0.99, 0.004 + 0.004 * 0.69],
      [1, 0.008],
    ],
    // 772 → 2855 fsyncs; cumulative deltas 1073, 1635, 1898, 2028 at 1, 2, 4, 8 ms.
    loadDeltaHead: [1073, 1635, 1898, 2028],
    loadDeltaTotal: 2083,
    // rank 0.99·2083 = 2062.17 lies in (0.008, 0.016] which holds 2073 − 2028 = 45
    loadP99Bucket: [0.008, 0.008, 2028, 45],
  },
};

describe.each(ETCD_FIXTURE_VERSIONS)('etcd %s captures', (version) => {
  const captured = CAPTURED[version];
  const metrics = (file: string) => fixtureMetrics(file, version);

  describe('bucketsOf', () => {
    it('reads the WAL fsync buckets of the leader capture in order, +Inf last', () => {
      const buckets = bucketsOf(metrics('leader-metrics.txt'), WAL);
      expect(buckets?.le).toEqual([...EDGES, Infinity]);
      expect(buckets?.counts).toEqual(captured.leaderCounts);
    });

    it('sums series over labels, or keeps one peer with a filter', () => {
      const m = metrics('leader-metrics.txt');
      const family = 'etcd_network_peer_round_trip_time_seconds';
      const all = bucketsOf(m, family);
      const peers = [...new Set(m.get(family)?.samples.map((s) => s.labels['To']))];
      expect(peers).toHaveLength(2);
      const each = peers.map((peer) => bucketsOf(m, family, (l) => l['To'] === peer));
      expect(all?.counts).toEqual(
        all?.le.map((_, i) => (each[0]?.counts[i] ?? 0) + (each[1]?.counts[i] ?? 0)),
      );
    });

    it('is undefined for a family the member does not export', () => {
      expect(bucketsOf(metrics('leader-metrics.txt'), 'etcd_no_such_histogram')).toBeUndefined();
    });
  });

  describe('quantile (linear interpolation inside the bucket, as histogram_quantile)', () => {
    const leader = () => bucketsOf(metrics('leader-metrics.txt'), WAL);
    it.each(captured.leaderQuantiles)('q=%s on the leader capture → %s', (q, expected) => {
      expect(quantile(q, leader())).toBeCloseTo(expected, 12);
    });

    it('a rank in the +Inf bucket reports the highest finite edge', () => {
      // Transformation: the leader capture's buckets with 10 observations added above 8.192 s.
      const real = leader() as Buckets;
      const slow: Buckets = {
        le: real.le,
        counts: real.counts.map((c, i) => (i === real.le.length - 1 ? c + 10 : c)),
      };
      expect(quantile(0.99, slow)).toBe(8.192);
    });

    it('no observations or no buckets → undefined', () => {
      const real = leader() as Buckets;
      expect(quantile(0.99, { le: real.le, counts: real.counts.map(() => 0) })).toBeUndefined();
      expect(quantile(0.99, undefined)).toBeUndefined();
    });
  });

  describe('bucketDelta on consecutive real captures', () => {
    const at = (file: string) => bucketsOf(metrics(file), WAL);

    it('the observations between two scrapes of the leader under load', () => {
      const before = at('load/leader-metrics-0.txt') as Buckets;
      const after = at('load/leader-metrics-1.txt') as Buckets;
      const delta = bucketDelta(before, after);
      expect(delta?.le).toEqual(after.le);
      expect(delta?.counts).toEqual(after.counts.map((c, i) => c - (before.counts[i] as number)));
      // From the files (CAPTURED above): the first cumulative deltas, the total and where p99 lies.
      expect(delta?.counts.slice(0, 4)).toEqual(captured.loadDeltaHead);
      expect(delta?.counts.at(-1)).toBe(captured.loadDeltaTotal);
      const [lower, width, below, inside] = captured.loadP99Bucket;
      expect(quantile(0.99, delta)).toBeCloseTo(
        lower + width * ((0.99 * captured.loadDeltaTotal - below) / inside),
        12,
      );
    });

    it('is undefined across a restart (counters went back to zero)', () => {
      const before = at('load/follower-metrics-2.txt');
      const after = at('load/follower-metrics-after-restart.txt');
      expect(before && after).toBeTruthy();
      expect(bucketDelta(before, after)).toBeUndefined();
    });

    it('is undefined without a previous scrape or when bucket layouts differ', () => {
      const now = at('load/leader-metrics-1.txt') as Buckets;
      expect(bucketDelta(undefined, now)).toBeUndefined();
      expect(bucketDelta(now, undefined)).toBeUndefined();
      // Transformation: the same capture with its first bucket removed, as if etcd changed its buckets.
      const fewer: Buckets = { le: now.le.slice(1), counts: now.counts.slice(1) };
      expect(bucketDelta(fewer, now)).toBeUndefined();
    });

    it('two identical scrapes give an all-zero delta and no quantile', () => {
      const now = at('load/leader-metrics-1.txt') as Buckets;
      const delta = bucketDelta(now, now);
      expect(delta?.counts.every((c) => c === 0)).toBe(true);
      expect(quantile(0.99, delta)).toBeUndefined();
    });
  });
});
