import { describe, expect, it } from 'vitest';
import type { MemberSnapshot } from '../../src/collect/snapshot.js';
import { deriveHashConsistency } from '../../src/derive/hash-consistency.js';
import type { ResolvedMember } from '../../src/derive/identity.js';

type Answer = { hash: number; revision?: number; compact?: number } | 'error' | 'none';

function members(answers: Answer[]): ResolvedMember[] {
  return answers.map((answer, i) => {
    const endpoint = `http://127.0.0.1:${2379 + i * 10}`;
    const snapshot: MemberSnapshot =
      answer === 'none'
        ? { endpoint }
        : answer === 'error'
          ? {
              endpoint,
              hashkv: {
                ok: false,
                error: 'mvcc: required revision has been compacted',
                code: 'GRPC_OUT_OF_RANGE',
                at: 1,
                durationSeconds: 0.01,
              },
            }
          : {
              endpoint,
              hashkv: {
                ok: true,
                value: {
                  hash: answer.hash,
                  revision: answer.revision ?? 100,
                  compactRevision: answer.compact ?? 0,
                },
                at: 1,
                durationSeconds: 0.01,
              },
            };
    return { endpoint, snapshot, name: `m${i}` };
  });
}

const ep = (i: number) => `http://127.0.0.1:${2379 + i * 10}`;

describe('deriveHashConsistency', () => {
  it.each<[string, Answer[], { compared: number; consistent?: boolean; mismatched: string[] }]>([
    ['no check yet', ['none', 'none', 'none'], { compared: 0, mismatched: [] }],
    ['all equal', [{ hash: 7 }, { hash: 7 }, { hash: 7 }], { compared: 3, consistent: true, mismatched: [] }],
    [
      'one diverges',
      [{ hash: 7 }, { hash: 9 }, { hash: 7 }],
      { compared: 3, consistent: false, mismatched: [ep(1)] },
    ],
    [
      'two members disagree: no majority, both suspect',
      [{ hash: 7 }, { hash: 9 }],
      { compared: 2, consistent: false, mismatched: [ep(0), ep(1)] },
    ],
    ['only one comparable answer', [{ hash: 7 }, 'error', 'none'], { compared: 1, mismatched: [] }],
    [
      'different compact revision is not comparable',
      [{ hash: 7 }, { hash: 9, compact: 50 }, { hash: 7 }],
      { compared: 2, consistent: true, mismatched: [] },
    ],
    [
      'failed member left out',
      [{ hash: 7 }, 'error', { hash: 7 }],
      { compared: 2, consistent: true, mismatched: [] },
    ],
  ])('%s', (_name, answers, expected) => {
    const result = deriveHashConsistency(members(answers));
    expect(result.compared).toBe(expected.compared);
    expect(result.consistent).toBe(expected.consistent);
    expect(result.mismatched).toEqual(expected.mismatched);
    if (expected.compared > 0) expect(result.revision).toBe(100);
  });
});
