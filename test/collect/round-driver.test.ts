import { afterEach, describe, expect, it } from 'vitest';
import { ClusterCollector } from '../../src/collect/cluster-collector.js';
import type { CollectorName } from '../../src/collect/snapshot.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { freePorts } from '../../harness/free-port.js';

// The round driver against three members that refuse every connection: no status ever succeeds, so no
// leader is known and fan-out `one` sources take turns; every run still records a result with its
// duration and error code. Discovery is off, so the three endpoints stay the watched members.

const collectors: ClusterCollector[] = [];
afterEach(async () => {
  await Promise.all(collectors.splice(0).map((c) => c.close()));
});

async function refusingCluster(probe = true): Promise<ClusterCollector> {
  const endpoints = (await freePorts(3)).map((port) => `http://127.0.0.1:${port}`);
  const config = resolveConfig({
    flags: {
      endpoints: endpoints.join(','),
      'discover-members': false,
      'request-timeout': '2s',
      'dial-timeout': '2s',
      probe,
    },
    env: {},
  });
  const collector = new ClusterCollector(config.clusters[0] as (typeof config.clusters)[number], config);
  collectors.push(collector);
  return collector;
}

/** Per member, the collectors with a result and how many failures each recorded. */
function recorded(collector: ClusterCollector): Partial<Record<CollectorName, number>>[] {
  return collector.snapshot().members.map((m) => {
    const out: Partial<Record<CollectorName, number>> = {};
    for (const [name, counts] of Object.entries(m.errorCounts ?? {}))
      out[name as CollectorName] = Object.values(counts).reduce((a, b) => a + b, 0);
    return out;
  });
}

describe('the round driver records success, duration and code for every source it runs', () => {
  it('three metrics rounds: metrics and status of every member each round, the member list of one in turn', async () => {
    const collector = await refusingCluster();
    for (let round = 0; round < 3; round++) await collector.collectMetricsRound();
    expect(recorded(collector)).toEqual([
      { metrics: 3, status: 3, members: 1 },
      { metrics: 3, status: 3, members: 1 },
      { metrics: 3, status: 3, members: 1 },
    ]);
    for (const m of collector.snapshot().members) {
      for (const result of [m.metrics, m.status, m.members]) {
        expect(result).toMatchObject({ ok: false, code: 'CONNECTION_REFUSED' });
        expect(result?.durationSeconds).toBeGreaterThanOrEqual(0);
      }
      expect(m.errorCounts?.metrics).toEqual({ CONNECTION_REFUSED: 3 });
    }
  });

  it('three health rounds: health, status, member list and probe of every member, the alarm list of one in turn', async () => {
    const collector = await refusingCluster();
    for (let round = 0; round < 3; round++) await collector.collectHealthRound();
    expect(recorded(collector)).toEqual([
      { status: 3, members: 3, alarms: 1, health: 3, probe: 3 },
      { status: 3, members: 3, alarms: 1, health: 3, probe: 3 },
      { status: 3, members: 3, alarms: 1, health: 3, probe: 3 },
    ]);
  });

  it('--no-probe: the health round runs no probe', async () => {
    const collector = await refusingCluster(false);
    await collector.collectHealthRound();
    for (const m of collector.snapshot().members) expect(m.probe).toBeUndefined();
    expect(recorded(collector).map((r) => Object.keys(r).sort())).toEqual([
      ['alarms', 'health', 'members', 'status'],
      ['health', 'members', 'status'],
      ['health', 'members', 'status'],
    ]);
  });

  it('a HashKV round with no status known asks nothing', async () => {
    const collector = await refusingCluster();
    await collector.collectHashRound();
    expect(collector.snapshot().members.map((m) => Object.keys(m))).toEqual([
      ['endpoint'],
      ['endpoint'],
      ['endpoint'],
    ]);
  });
});
