import { startCluster, type EtcdCluster } from '../harness/etcd-cluster.js';
import { spawnSimulatedMembers } from '../harness/simulated-members.js';

/** The clusters a scale run watches: the shape of harness/simulated-members.ts' SimulatedMembers. */
export interface MemberSource {
  readonly clusters: readonly { readonly name: string; readonly endpoints: readonly string[] }[];
  /** The process serving them (simulated members), so its CPU can be reported; absent for real etcd. */
  readonly pid?: number;
  stop(): Promise<void>;
}

export type SourceKind = 'sim' | 'etcd';

/**
 * `clusters` clusters of 3 members under names `<prefix>-NNN`: simulated members in a separate process
 * (harness/simulated-members.ts, so their CPU is not the caller's), or real etcd 3-member clusters started
 * one after another (a handful at most on this machine; used to check the harness itself).
 */
export async function startMembers(
  kind: SourceKind,
  clusters: number,
  prefix: string,
  etcdVersion: '3.4' | '3.5',
): Promise<MemberSource> {
  if (kind === 'sim') {
    const opts = { clusters, membersPerCluster: 3, etcdVersion, clusterPrefix: prefix };
    // Each simulator process binds one port on its own 127.0.x.y addresses; the port comes from a probe of
    // 127.0.0.1, so a second simulator can, rarely, be handed the port the first one holds. Try once more.
    return spawnSimulatedMembers(opts).catch(() => spawnSimulatedMembers(opts));
  }
  const started: EtcdCluster[] = [];
  const stop = async () => {
    await Promise.all(started.map((c) => c.destroy()));
  };
  try {
    for (let i = 0; i < clusters; i++) {
      started.push(await startCluster({ size: 3, name: `${prefix}-${String(i).padStart(3, '0')}` }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    clusters: started.map((c, i) => ({
      name: `${prefix}-${String(i).padStart(3, '0')}`,
      endpoints: [...c.endpoints],
    })),
    stop,
  };
}
