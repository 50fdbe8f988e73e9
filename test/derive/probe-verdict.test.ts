import { describe, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../src/collect/snapshot.js';
import type { Thresholds } from '../../src/config/types.js';
import { deriveCluster, INITIAL_DERIVE_STATE } from '../../src/derive/derive-cluster.js';
import { latestRoundAboveMax, PROBE_WINDOW_SIZE } from '../../src/derive/probe-window.js';
import type { ClusterView } from '../../src/derive/view.js';
import {
  ETCD_FIXTURE_VERSIONS,
  failed,
  type EtcdFixtureVersion,
  healthyCluster,
  memberSnapshot,
  ok,
} from '../etcd/fixtures.js';

const THRESHOLDS: Thresholds = {
  maxLatencyMs: 100,
  maxDbSizeBytes: 8192 * 1024 * 1024,
  minAvailableNodes: 2,
  maxLeaderChangesPerHour: 3,
};
const T0 = 1_795_441_262_015;
const ROUND_MS = 1000;

/** One member's probe in a health round: [read s, write s], a failed probe, or none (--no-probe). */
type Probe = readonly [number, number] | 'fail' | 'none';
/** A health round (one probe per member of the three) or a metrics round between two health rounds. */
type Round = readonly [Probe, Probe, Probe] | 'metrics';

const FAST: Round = [
  [0.002, 0.008],
  [0.003, 0.009],
  [0.002, 0.007],
];
const SLOW: Round = [
  [0.004, 0.3],
  [0.005, 0.32],
  [0.004, 0.29],
];
const repeat = (round: Round, n: number): Round[] => Array.from({ length: n }, () => round);

/**
 * The captured 3-member cluster (statuses, member list, metrics of test/fixtures/etcd-<version>) with the
 * given probes; a metrics round repeats the previous snapshot's probe results (same `at`), as the
 * collector's snapshot does between health rounds.
 */
function rounds(plan: readonly Round[], version: EtcdFixtureVersion): ClusterSnapshot[] {
  const h = healthyCluster(version);
  const endpoints = [h.endpoints.leader, h.endpoints.follower, h.endpoints.third];
  const statuses = [h.leader, h.follower, h.thirdStatus];
  const out: ClusterSnapshot[] = [];
  let probesAt = T0;
  let last: Round = ['none', 'none', 'none'];
  plan.forEach((round, i) => {
    const at = T0 + i * ROUND_MS;
    if (round !== 'metrics') {
      last = round;
      probesAt = at;
    }
    out.push({
      cluster: 'fixtures',
      takenAt: at,
      expectedMembers: 3,
      members: endpoints.map((endpoint, k) => {
        const base = memberSnapshot(endpoint, at, {
          status: statuses[k],
          members: h.list,
          alarms: h.alarms,
          health: h.health,
        });
        const p = last[k] as Probe;
        if (p === 'none') return base;
        if (p === 'fail') return { ...base, probe: failed(probesAt, 'probe: DEADLINE_EXCEEDED', 'TIMEOUT') };
        return { ...base, probe: ok({ readSeconds: p[0], writeSeconds: p[1] }, probesAt) };
      }),
    });
  });
  return out;
}

function run(plan: readonly Round[], version: EtcdFixtureVersion): ClusterView[] {
  let state = INITIAL_DERIVE_STATE;
  return rounds(plan, version).map((snapshot) => {
    const out = deriveCluster(state, snapshot, THRESHOLDS);
    state = out.state;
    return out.view;
  });
}

describe.each(ETCD_FIXTURE_VERSIONS)(
  'etcd %s captures: probe_latency_above_max follows the latest health round',
  (version) => {
    it.each<[string, Round[], boolean[]]>([
      ['all fast', repeat(FAST, 3), [false, false, false]],
      [
        'a slow spell of 20 rounds clears with the first fast round (the 300-result p99 kept it 98 rounds)',
        [...repeat(FAST, 2), ...repeat(SLOW, 20), ...repeat(FAST, 3)],
        [false, false, ...Array<boolean>(20).fill(true), false, false, false],
      ],
      [
        'one slow member of three is enough (p99 of three probes is the slowest)',
        [
          FAST,
          [
            [0.002, 0.008],
            [0.003, 0.25],
            [0.002, 0.007],
          ],
          FAST,
        ],
        [false, true, false],
      ],
      [
        'reads count like writes',
        [
          [
            [0.15, 0.008],
            [0.003, 0.009],
            [0.002, 0.007],
          ],
          FAST,
        ],
        [true, false],
      ],
      [
        'exactly --max-latency-ms is not above it',
        [
          [
            [0.1, 0.1],
            [0.1, 0.1],
            [0.1, 0.1],
          ],
        ],
        [false],
      ],
      [
        'metrics rounds between health rounds keep the verdict of the last health round',
        [SLOW, 'metrics', 'metrics', FAST, 'metrics'],
        [true, true, true, false, false],
      ],
      [
        'a failed probe is no latency (probe_success says it); the member that answered decides',
        [SLOW, ['fail', 'fail', 'fail'], ['fail', [0.002, 0.4], 'fail'], ['fail', 'fail', [0.002, 0.008]]],
        [true, false, true, false],
      ],
      ['no probe at all (--no-probe)', [['none', 'none', 'none']], [false]],
    ])('%s', (_, plan, expected) => {
      expect(run(plan, version).map((v) => v.probe.aboveMaxLatency)).toEqual(expected);
    });

    it('the window percentiles for the REST API and dashboards still cover the last 300 results', () => {
      const views = run([...repeat(SLOW, 20), ...repeat(FAST, 5)], version);
      const after = views.at(-1) as ClusterView;
      expect(after.probe.aboveMaxLatency).toBe(false);
      // 60 slow of 75 results: the window's p99 and p50 still show the slow spell, as documented.
      expect(after.probe.writeP99Seconds).toBe(0.32);
      expect(after.probe.writeP50Seconds).toBe(0.3);
      expect(PROBE_WINDOW_SIZE).toBe(300);
    });
  },
);

describe('latestRoundAboveMax', () => {
  it.each<[string, { readSeconds: number; writeSeconds: number }[], number, boolean]>([
    ['empty', [], 0.1, false],
    ['one fast', [{ readSeconds: 0.01, writeSeconds: 0.02 }], 0.1, false],
    ['one slow write', [{ readSeconds: 0.01, writeSeconds: 0.2 }], 0.1, true],
    [
      '1 slow of 200 (p99 is below it)',
      [
        ...Array.from({ length: 199 }, () => ({ readSeconds: 0.01, writeSeconds: 0.01 })),
        { readSeconds: 0.5, writeSeconds: 0.01 },
      ],
      0.1,
      false,
    ],
    [
      '3 slow of 200 (p99 is one of them)',
      [
        ...Array.from({ length: 197 }, () => ({ readSeconds: 0.01, writeSeconds: 0.01 })),
        ...Array.from({ length: 3 }, () => ({ readSeconds: 0.5, writeSeconds: 0.01 })),
      ],
      0.1,
      true,
    ],
  ])('latestRoundAboveMax: %s', (_, latest, max, expected) => {
    expect(latestRoundAboveMax(latest, max)).toBe(expected);
  });
});
