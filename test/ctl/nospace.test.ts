import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmEntry } from '../../src/etcd/types.js';
import type { DefragMemberResult, EndpointHealth } from '../../src/ctl/operations.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { ctl, ctlError, ctlJson } from './helpers.js';

const QUOTA_BYTES = 2 * 1024 * 1024;

let cluster: EtcdCluster;
let ep: string[];

beforeAll(async () => {
  cluster = await startCluster({ size: 3, quotaBackendBytes: QUOTA_BYTES });
  ep = cluster.endpoints;
});
afterAll(async () => {
  await cluster?.destroy();
});

describe('NOSPACE runbook through ctl: alarm list, compact, defrag, alarm disarm', () => {
  it('raises NOSPACE when the quota is hit, and clears it with compact + defrag + disarm', async () => {
    const value = 'v'.repeat(200 * 1024);
    let lastError = '';
    for (let i = 0; i < 40 && !lastError; i++) {
      const run = await ctl(ep, 'put', `fill/${i % 4}`, value);
      if (run.code !== 0) lastError = ctlError(run).message;
    }
    expect(lastError).toMatch(/database space exceeded/);

    const { alarms } = await ctlJson<{ alarms: AlarmEntry[] }>(ep, 'alarm', 'list');
    expect(alarms.length).toBeGreaterThan(0);
    expect(alarms.every((a) => a.alarm === 'NOSPACE')).toBe(true);
    const health = await ctl(ep, 'endpoint', 'health');
    expect(health.code).toBe(4);
    expect((JSON.parse(health.stdout) as { endpoints: EndpointHealth[] }).endpoints[0]?.error).toMatch(
      /NOSPACE/,
    );

    // Only rewriting 4 keys, so compacting to the latest revision frees all older versions.
    const { revision } = await ctlJson<{ revision: number }>(ep, 'get', 'fill/', '--prefix', '--count-only');
    await ctlJson(ep, 'compact', String(revision), '--physical');
    // Defrag must not count NOSPACE as unhealthy: it is part of the cure.
    const { members } = await ctlJson<{ members: DefragMemberResult[] }>(ep, 'defrag', '--cluster');
    expect(members).toHaveLength(3);
    expect(members.every((m) => m.dbSizeAfterBytes < m.dbSizeBeforeBytes)).toBe(true);
    expect(members.at(-1)?.wasLeader).toBe(true);

    const disarmed = await ctlJson<{ disarmed: AlarmEntry[] }>(ep, 'alarm', 'disarm');
    // etcd keeps alarms in a Go map: two lists of the same alarms need not come in the same order.
    const byMember = (list: AlarmEntry[]) => [...list].sort((a, b) => a.memberId.localeCompare(b.memberId));
    expect(byMember(disarmed.disarmed)).toEqual(byMember(alarms));
    expect(await ctlJson(ep, 'alarm', 'list')).toEqual({ alarms: [] });
    expect((await ctl(ep, 'put', 'after/nospace', 'ok')).code).toBe(0);
    expect((await ctl(ep, 'endpoint', 'health', '--cluster')).code).toBe(0);
  });
});
