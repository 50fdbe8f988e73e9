// Network-fault suite, 3-member cluster: delay on every peer link of the leader (test/support/fault-suite.ts).
// Slow is not dead: quorum holds, nothing critical fires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultHarness, recordResults } from '../support/fault-suite.js';

describe('network-fault suite: delay on the leader’s links of a 3-member cluster', () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await FaultHarness.start('3 members, delay', 3);
  }, 120_000);

  afterAll(async () => {
    if (h) recordResults(h.suite, h.rows);
    await h?.stop();
  });

  it.each([200, 600])(
    '%i ms each way on the leader’s links: same leader, tolerance 1, no critical alert (600 ms: EtcdMemberSlow)',
    async (ms) => {
      const row = await h.run({
        name: `${ms} ms delay on the leader's links`,
        partition: false,
        // 600 ms each way puts /health (1 s budget inside etcd) past its limit while raft works: slow, not dead.
        expectAlerts: ms === 600 ? ['EtcdMemberSlow'] : [],
        apply: async (hh, leader) => {
          // In 100 ms steps: switched on at once, 600 ms each way is a silence beyond the 1 s election timeout.
          await hh.net.rampDelayOf(leader, ms);
          return [];
        },
      });
      expect(row.truth).toMatch(/tolerance 1/);
    },
    150_000,
  );
});
