import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchMembers, discoverMembers, DiscoveryError } from '../../src/etcd/discover.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';

// Seeds in, members out: the member list of the first seed (in the configured order) that answers,
// each member with its own advertised client URLs; a stable error code when no seed answers.

const TIMEOUTS = { dialTimeoutMs: 1000, requestTimeoutMs: 2000 };

describe('discoverMembers', () => {
  let cluster: EtcdCluster;
  let dead: string;

  beforeAll(async () => {
    cluster = await startCluster({ size: 3 });
    dead = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(() => cluster?.destroy());

  it('one seed gives all three members with their client URLs; a dead seed before it is reported', async () => {
    const d = await discoverMembers([dead, cluster.endpoints[2]!], TIMEOUTS);
    expect(d.answeredBy).toBe(cluster.endpoints[2]);
    expect(d.seedErrors.map((e) => e.endpoint)).toEqual([dead]);
    expect(d.members).toHaveLength(3);
    expect(d.members.map((m) => m.name).sort()).toEqual(cluster.members.map((m) => m.name).sort());
    for (const m of d.members) {
      expect(m.id).toMatch(/^[0-9a-f]{1,16}$/);
      expect(m.isLearner).toBe(false);
    }
    expect(
      benchMembers(d)
        .map((m) => m.endpoint)
        .sort(),
    ).toEqual([...cluster.endpoints].sort());
  });

  it('no seed answers: DiscoveryError DISCOVERY_NO_SEED_ANSWERED naming each seed', async () => {
    const err = await discoverMembers([dead], TIMEOUTS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscoveryError);
    expect(err).toMatchObject({ code: 'DISCOVERY_NO_SEED_ANSWERED' });
    expect((err as DiscoveryError).seedErrors).toHaveLength(1);
    expect((err as DiscoveryError).seedErrors[0]!.endpoint).toBe(dead);
  });

  it('benchMembers leaves out learners and members without a client URL', () => {
    const d = {
      answeredBy: 'x',
      seedErrors: [],
      members: [
        {
          id: 'a',
          name: 'a',
          clientUrls: ['http://a:2379', 'http://a2:2379'],
          peerUrls: [],
          isLearner: false,
        },
        { id: 'b', name: 'b', clientUrls: ['http://b:2379'], peerUrls: [], isLearner: true },
        { id: 'c', name: '', clientUrls: [], peerUrls: ['http://c:2380'], isLearner: false },
      ],
    };
    expect(benchMembers(d)).toEqual([{ name: 'a', id: 'a', endpoint: 'http://a:2379' }]);
  });
});
