import { describe, expect, it } from 'vitest';
import { EMPTY_LEADER_HISTORY, observeLeader, type LeaderHistory } from '../../src/derive/leader-changes.js';

const HOUR = 3_600_000;
const T0 = 1_795_441_262_015; // a capture time of test/fixtures/etcd-3.4/load

type Observation = { id: string; term: number } | undefined;

/** Feeds observations one per `stepMs` and returns the history after each. */
function replay(observations: readonly Observation[], stepMs = 10_000, start = T0): LeaderHistory[] {
  const out: LeaderHistory[] = [];
  let history = EMPTY_LEADER_HISTORY;
  observations.forEach((o, i) => {
    history = observeLeader(history, o, start + i * stepMs);
    out.push(history);
  });
  return out;
}

const A = { id: 'e1adf9c8a32dbc58', term: 2 };
const B = { id: '78bfa9abf1072b91', term: 3 };

describe('observeLeader', () => {
  it.each<[string, Observation[], { total: number; recent: number; lastChangeAt?: number }]>([
    ['the first observation is not a change', [A], { total: 0, recent: 0 }],
    ['the same leader in the same term is not a change', [A, A, A], { total: 0, recent: 0 }],
    ['a new leader is one change', [A, B], { total: 1, recent: 1, lastChangeAt: T0 + 10_000 }],
    [
      'a new term under the same leader is one change (a re-election)',
      [A, { ...A, term: 3 }],
      { total: 1, recent: 1, lastChangeAt: T0 + 10_000 },
    ],
    [
      'a leaderless gap is not counted; the leader after it is compared with the one before',
      [A, undefined, undefined, A],
      { total: 0, recent: 0 },
    ],
    [
      'a leaderless gap followed by a new leader is one change',
      [A, undefined, B],
      { total: 1, recent: 1, lastChangeAt: T0 + 20_000 },
    ],
    [
      'leaderless from the start, then a leader: not a change',
      [undefined, undefined, A],
      { total: 0, recent: 0 },
    ],
    [
      'flapping between two leaders counts every flip',
      [A, B, { ...A, term: 4 }, { ...B, term: 5 }],
      { total: 3, recent: 3, lastChangeAt: T0 + 30_000 },
    ],
    [
      'an older term reported by a lagging member under the known leader is not a change',
      [
        { ...A, term: 5 },
        { ...A, term: 4 },
      ],
      { total: 0, recent: 0 },
    ],
  ])('%s', (_, observations, expected) => {
    const last = replay(observations).at(-1) as LeaderHistory;
    expect(last.total).toBe(expected.total);
    expect(last.recent).toHaveLength(expected.recent);
    expect(last.lastChangeAt).toBe(expected.lastChangeAt);
  });

  it('keeps only the changes of the last hour, while the total keeps counting', () => {
    let history = observeLeader(EMPTY_LEADER_HISTORY, A, T0);
    history = observeLeader(history, B, T0 + 1_000); // change 1
    history = observeLeader(history, { ...A, term: 4 }, T0 + 30 * 60_000); // change 2
    expect(history.recent).toEqual([T0 + 1_000, T0 + 30 * 60_000]);
    // Exactly one hour after change 1 it has left the window; change 2 is still inside.
    history = observeLeader(history, { ...A, term: 4 }, T0 + 1_000 + HOUR);
    expect(history.recent).toEqual([T0 + 30 * 60_000]);
    expect(history.total).toBe(2);
    // Leaderless rounds age the window too.
    history = observeLeader(history, undefined, T0 + 30 * 60_000 + HOUR);
    expect(history.recent).toEqual([]);
    expect(history.total).toBe(2);
    expect(history.lastChangeAt).toBe(T0 + 30 * 60_000);
  });

  it('returns new objects and leaves the previous history untouched', () => {
    const first = observeLeader(EMPTY_LEADER_HISTORY, A, T0);
    const second = observeLeader(first, B, T0 + 1);
    expect(first).toEqual({ total: 0, recent: [], lastLeaderId: A.id, lastTerm: A.term });
    expect(second.total).toBe(1);
    expect(EMPTY_LEADER_HISTORY).toEqual({ total: 0, recent: [] });
  });
});
