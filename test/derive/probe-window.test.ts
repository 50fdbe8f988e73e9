import { describe, expect, it } from 'vitest';
import {
  addProbe,
  EMPTY_PROBE_WINDOW,
  percentile,
  PROBE_WINDOW_SIZE,
} from '../../src/derive/probe-window.js';

describe('percentile (nearest rank)', () => {
  // 1..100 shuffled deterministically: the nearest-rank p-th percentile of 1..100 is p itself.
  const hundred = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);

  it.each([
    [0.5, 50],
    [0.9, 90],
    [0.95, 95],
    [0.99, 99],
    [1, 100],
    [0, 1],
  ])('q=%s of 1..100 → %s', (q, expected) => {
    expect(percentile(hundred, q)).toBe(expected);
  });

  it.each<[string, number[], number, number | undefined]>([
    ['empty', [], 0.99, undefined],
    ['a single value', [0.012], 0.99, 0.012],
    ['two values, median is the lower', [0.02, 0.01], 0.5, 0.01],
    ['one slow outlier in 100 is not the p99', [...Array<number>(99).fill(0.002), 1.5], 0.99, 0.002],
    ['two slow outliers in 100 are', [...Array<number>(98).fill(0.002), 1.5, 1.6], 0.99, 1.5],
  ])('%s', (_, values, q, expected) => {
    expect(percentile(values, q)).toBe(expected);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 0.5);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('addProbe', () => {
  it('appends read and write latencies, newest last', () => {
    const w = addProbe(addProbe(EMPTY_PROBE_WINDOW, 0.001, 0.004), 0.002, 0.005);
    expect(w).toEqual({ read: [0.001, 0.002], write: [0.004, 0.005] });
    expect(EMPTY_PROBE_WINDOW).toEqual({ read: [], write: [] });
  });

  it(`keeps the newest ${PROBE_WINDOW_SIZE}`, () => {
    let w = EMPTY_PROBE_WINDOW;
    for (let i = 1; i <= PROBE_WINDOW_SIZE + 50; i++) w = addProbe(w, i, -i);
    expect(w.read).toHaveLength(PROBE_WINDOW_SIZE);
    expect(w.read[0]).toBe(51);
    expect(w.read.at(-1)).toBe(PROBE_WINDOW_SIZE + 50);
    expect(w.write.at(-1)).toBe(-(PROBE_WINDOW_SIZE + 50));
    expect(percentile(w.read, 0.5)).toBe(50 + PROBE_WINDOW_SIZE / 2);
  });
});
