import { describe, expect, it } from 'vitest';
import {
  addSizeSample,
  growthBytesPerSecond,
  secondsUntilFull,
  type SizeSamples,
} from '../../src/derive/db-growth.js';
import { sumOf } from '../../src/protocol/prom-text/index.js';
import { capturedAt, ETCD_FIXTURE_VERSIONS, fixtureMetrics, fixtureStatus } from '../etcd/fixtures.js';

/** Slope by the mean-centred least-squares formula (a different route than the implementation's). */
function slope(points: readonly { at: number; bytes: number }[]): number {
  const xs = points.map((p) => (p.at - (points[0]?.at ?? 0)) / 1000);
  const ys = points.map((p) => p.bytes);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * ((ys[i] as number) - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

const series = (points: readonly { at: number; bytes: number }[]): SizeSamples =>
  points.reduce<SizeSamples>((s, p) => addSizeSample(s, p.at, p.bytes), []);

describe.each(ETCD_FIXTURE_VERSIONS)('DB growth on the etcd %s leader captured under load', (version) => {
  /** dbSize of the leader in the three rounds captured under load, at the times they arrived. */
  const realSamples = [0, 1, 2].map((round) => {
    const file = `load/status-leader-${round}.json`;
    return { at: capturedAt(file, version), bytes: fixtureStatus(file, version).dbSizeBytes };
  });

  it('the captures grow and span more than 10 s', () => {
    expect(realSamples.map((s) => s.bytes)).toEqual(
      [...realSamples.map((s) => s.bytes)].sort((a, b) => a - b),
    );
    expect((realSamples[2]?.at ?? 0) - (realSamples[0]?.at ?? 0)).toBeGreaterThan(10_000);
  });

  it('slope is the least-squares fit over the three sizes', () => {
    const growth = growthBytesPerSecond(series(realSamples));
    expect(growth).toBeGreaterThan(0);
    expect(growth).toBeCloseTo(slope(realSamples), 6);
  });

  it('seconds until the 2 GiB quota of the metrics capture is full, at that slope', () => {
    const quota = sumOf(
      fixtureMetrics('load/leader-metrics-2.txt', version),
      'etcd_server_quota_backend_bytes',
    );
    expect(quota).toBe(2 * 1024 ** 3);
    const size = realSamples[2]?.bytes as number;
    const growth = growthBytesPerSecond(series(realSamples));
    expect(secondsUntilFull(size, quota, growth)).toBeCloseTo((2 * 1024 ** 3 - size) / slope(realSamples), 3);
  });

  it('a shrink (defragmentation) starts the series afresh: no slope until three new samples', () => {
    // Transformation: after the captured growth, the size drops back to the first capture's size.
    const last = realSamples[2] as { at: number; bytes: number };
    let s = series(realSamples);
    s = addSizeSample(s, last.at + 10_000, realSamples[0]?.bytes as number);
    expect(s).toEqual([{ at: last.at + 10_000, bytes: realSamples[0]?.bytes }]);
    expect(growthBytesPerSecond(s)).toBeUndefined();
    s = addSizeSample(s, last.at + 20_000, (realSamples[0]?.bytes as number) + 4096);
    expect(growthBytesPerSecond(s)).toBeUndefined();
    s = addSizeSample(s, last.at + 30_000, (realSamples[0]?.bytes as number) + 8192);
    expect(growthBytesPerSecond(s)).toBeCloseTo(8192 / 20, 9);
  });
});

describe('growthBytesPerSecond and secondsUntilFull', () => {
  it.each<[string, { at: number; bytes: number }[], number | undefined]>([
    [
      'fewer than three samples',
      [
        { at: 0, bytes: 1 },
        { at: 60_000, bytes: 2 },
      ],
      undefined,
    ],
    [
      'three samples within 10 s',
      [
        { at: 0, bytes: 1000 },
        { at: 4_000, bytes: 2000 },
        { at: 9_000, bytes: 3000 },
      ],
      undefined,
    ],
    [
      'a flat size',
      [
        { at: 0, bytes: 20480 },
        { at: 10_000, bytes: 20480 },
        { at: 20_000, bytes: 20480 },
      ],
      0,
    ],
    [
      'steady 1 KiB/s',
      [
        { at: 0, bytes: 0 },
        { at: 10_000, bytes: 10_240 },
        { at: 20_000, bytes: 20_480 },
        { at: 30_000, bytes: 30_720 },
      ],
      1024,
    ],
  ])('%s → %s', (_, points, expected) => {
    const growth = growthBytesPerSecond(series(points));
    if (expected === undefined) expect(growth).toBeUndefined();
    else expect(growth).toBeCloseTo(expected, 9);
  });

  it('ignores a sample that is not newer than the last one', () => {
    const s = series([
      { at: 10_000, bytes: 100 },
      { at: 10_000, bytes: 999 },
      { at: 5_000, bytes: 999 },
    ]);
    expect(s).toEqual([{ at: 10_000, bytes: 100 }]);
  });

  it('keeps one hour of samples', () => {
    const points = Array.from({ length: 200 }, (_, i) => ({ at: i * 30_000, bytes: i * 1000 }));
    const s = series(points);
    const newest = points.at(-1)?.at as number;
    expect(s.every((p) => newest - p.at <= 3_600_000)).toBe(true);
    expect(s).toHaveLength(121);
    expect(growthBytesPerSecond(s)).toBeCloseTo(1000 / 30, 9);
  });

  it.each<[string, number, number | undefined, number | undefined, number | undefined]>([
    ['growing', 1_000_000, 2_000_000, 1000, 1000],
    ['already above quota', 3_000_000, 2_000_000, 1000, 0],
    ['flat', 1_000_000, 2_000_000, 0, undefined],
    ['shrinking', 1_000_000, 2_000_000, -50, undefined],
    ['quota unknown', 1_000_000, undefined, 1000, undefined],
    ['growth unknown', 1_000_000, 2_000_000, undefined, undefined],
  ])('secondsUntilFull: %s', (_, size, quota, growth, expected) => {
    expect(secondsUntilFull(size, quota, growth)).toBe(expected);
  });
});
