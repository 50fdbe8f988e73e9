import { mkdtemp, readFile, rm, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EMPTY_LEADER_HISTORY,
  leaderChangeBetween,
  observeLeader,
  type LeaderHistory,
} from '../../src/derive/leader-changes.js';
import { LEADER_HISTORY_FILE_NAME, openLeaderHistory } from '../../src/history/leader-history.js';
import { createLogger } from '../../src/util/logger.js';

const quiet = createLogger('silent', 'json');
const T0 = 1_795_441_262_015;
const A = { id: 'e1adf9c8a32dbc58', term: 2 };
const B = { id: '78bfa9abf1072b91', term: 3 };
const NAMES: Record<string, string> = { [A.id]: 'etcd-a', [B.id]: 'etcd-b' };
const names = (id: string) => NAMES[id];

/** The changes leaderChangeBetween reports along a series of observations, one per 10 s. */
function changes(
  observations: Array<{ id: string; term: number } | undefined>,
  start: LeaderHistory = EMPTY_LEADER_HISTORY,
) {
  let history = start;
  return observations.flatMap((o, i) => {
    const next = observeLeader(history, o, T0 + i * 10_000);
    const change = leaderChangeBetween('c1', history, next, names);
    history = next;
    return change ? [change] : [];
  });
}

describe('leaderChangeBetween', () => {
  it.each([
    ['the first observation after a (re)start is not a change', [A], 0],
    ['the same leader and term is not a change', [A, A, A], 0],
    ['a leaderless gap back to the same leader is not a change', [A, undefined, A], 0],
    ['a new leader is one change', [A, B], 1],
    ['a new term under the same leader (re-election) is one change', [A, { ...A, term: 5 }], 1],
  ] as const)('%s', (_name, observations, count) => {
    expect(changes([...observations])).toHaveLength(count);
  });

  it('names the previous and the new leader, the term and the time', () => {
    expect(changes([A, undefined, B])).toEqual([
      {
        cluster: 'c1',
        at: T0 + 20_000,
        previousLeaderId: A.id,
        previousLeader: 'etcd-a',
        leaderId: B.id,
        leader: 'etcd-b',
        term: 3,
      },
    ]);
  });
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'leader-history-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('leader history store', () => {
  it('persists changes, survives a restart, serves them newest first per cluster and pages', async () => {
    const store = await openLeaderHistory(dir, quiet);
    const [first] = changes([A, B]);
    expect(await store.record(first!)).toMatchObject({ persisted: true });
    await store.record({ ...first!, cluster: 'c2', at: T0 + 1 });
    await store.record({
      ...first!,
      at: T0 + 2,
      previousLeaderId: B.id,
      previousLeader: 'etcd-b',
      leaderId: A.id,
      leader: 'etcd-a',
      term: 4,
    });
    await store.close();

    const reopened = await openLeaderHistory(dir, quiet);
    const c1 = reopened.history({ cluster: 'c1' });
    expect(c1.map((e) => [e.seq, e.previousLeader, e.leader, e.term])).toEqual([
      [3, 'etcd-b', 'etcd-a', 4],
      [1, 'etcd-a', 'etcd-b', 3],
    ]);
    expect(c1[1]).toMatchObject({
      at: new Date(T0 + 10_000).toISOString(),
      previousLeaderId: A.id,
      leaderId: B.id,
    });
    expect(reopened.history({ cluster: 'c1', limit: 1, before: 3 }).map((e) => e.seq)).toEqual([1]);
    expect(reopened.history({ cluster: 'c2' })).toHaveLength(1);
    expect((await reopened.record(first!)).persisted).toBe(true);
    expect(reopened.history({ limit: 1 })[0]?.seq).toBe(4);
    await reopened.close();
  });

  it('keeps the newest 1000 and skips a corrupt line, like the alert history', async () => {
    const store = await openLeaderHistory(dir, quiet);
    const [change] = changes([A, B]);
    for (let i = 0; i < 1005; i++) await store.record({ ...change!, term: 10 + i });
    await store.close();
    await appendFile(path.join(dir, LEADER_HISTORY_FILE_NAME), '{"seq":1006,"at":"bad"}\n');
    const reopened = await openLeaderHistory(dir, quiet);
    expect(reopened.stats()).toMatchObject({ size: 1000, corruptLinesSkipped: 1 });
    expect(reopened.history({ limit: 1 })[0]?.term).toBe(1014);
    const lines = (await readFile(path.join(dir, LEADER_HISTORY_FILE_NAME), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1000);
    await reopened.close();
  });
});
