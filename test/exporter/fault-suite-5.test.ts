// Network-fault suite, 5-member cluster: isolations and a 2|3 split (test/support/fault-suite.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultHarness, isolate, recordResults } from '../support/fault-suite.js';

const SIZE = 5;
const next = (leader: number, k = 1) => (leader + k) % SIZE;

describe('network-fault suite: partitions of a 5-member cluster', () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await FaultHarness.start('5 members', SIZE);
  }, 120_000);

  afterAll(async () => {
    if (h) recordResults(h.suite, h.rows);
    await h?.stop();
  });

  it('isolate the leader: the other four elect one, tolerance 1, only EtcdPartitionSuspected', async () => {
    const row = await h.run({
      name: 'isolate the leader',
      partition: true,
      expectAlerts: ['EtcdPartitionSuspected'],
      apply: async (hh, leader) => {
        isolate(hh, [leader]);
        return [leader];
      },
    });
    expect(row.truth).toMatch(/tolerance 1/);
  }, 150_000);

  it('isolate a follower: the leader keeps three, tolerance 1, only EtcdPartitionSuspected', async () => {
    const row = await h.run({
      name: 'isolate a follower',
      partition: true,
      expectAlerts: ['EtcdPartitionSuspected'],
      apply: async (hh, leader) => {
        isolate(hh, [next(leader)]);
        return [next(leader)];
      },
    });
    expect(row.truth).toMatch(/tolerance 1/);
  }, 150_000);

  it('2|3 split with the old leader in the minority: the three elect one, tolerance 0, EtcdQuorumAtRisk', async () => {
    const row = await h.run({
      name: '2|3 split, old leader in the minority',
      partition: true,
      expectAlerts: ['EtcdQuorumAtRisk', 'EtcdPartitionSuspected'],
      apply: async (hh, leader) => {
        const minority = [leader, next(leader)];
        isolate(hh, minority);
        // The two of the minority still talk to each other: `isolate` cuts only links leaving the group.
        return minority;
      },
    });
    expect(row.truth).toMatch(/tolerance 0/);
  }, 150_000);
});
