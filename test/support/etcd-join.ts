import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EtcdCluster } from '../../harness/etcd-cluster.js';
import { ETCD_BIN } from '../../harness/etcd-cluster.js';
import { freePorts } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';

const run = promisify(execFile);
export const ETCDCTL_BIN = process.env.ETCDCTL_BIN ?? 'etcdctl';

/** A member added to a running test cluster with `etcdctl member add` and started as its own process. */
export interface JoinedMember {
  readonly name: string;
  /** Member ID in hex, as etcdctl prints it. */
  readonly id: string;
  readonly clientUrl: string;
  readonly proc: TrackedProcess;
  promote(): Promise<void>;
  /** `etcdctl member remove`, then stops the process. */
  remove(): Promise<void>;
}

async function etcdctl(cluster: EtcdCluster, args: string[]): Promise<string> {
  const { stdout } = await run(ETCDCTL_BIN, [`--endpoints=${cluster.endpoints.join(',')}`, ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 10_000,
  });
  return stdout;
}

/**
 * Adds a member (a learner by default) to a plain-HTTP test cluster and starts it with
 * `--initial-cluster-state=existing`, as etcd's runtime-reconfiguration guide describes. Its data dir
 * lives in the cluster's temp dir, so `cluster.destroy()` removes it; the process is reaped on exit.
 */
export async function joinMember(
  cluster: EtcdCluster,
  name: string,
  opts: { learner?: boolean } = {},
): Promise<JoinedMember> {
  const [clientPort, peerPort, metricsPort] = await freePorts(3);
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const added = await etcdctl(cluster, [
    'member',
    'add',
    name,
    `--peer-urls=${peerUrl}`,
    ...(opts.learner === false ? [] : ['--learner']),
  ]);
  const id = /Member\s+([0-9a-f]+)\s+added/.exec(added)?.[1];
  if (!id) throw new Error(`etcdctl member add printed no member ID:\n${added}`);
  const initialCluster = [...cluster.members.map((m) => `${m.name}=${m.peerUrl}`), `${name}=${peerUrl}`].join(
    ',',
  );
  const proc = spawnTracked(
    ETCD_BIN,
    [
      `--name=${name}`,
      `--data-dir=${path.join(cluster.dir, name)}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-state=existing',
      `--listen-metrics-urls=http://127.0.0.1:${metricsPort}`,
      '--heartbeat-interval=100',
      '--election-timeout=1000',
      '--logger=zap',
      '--log-outputs=stderr',
    ],
    { label: name },
  );
  return {
    name,
    id,
    clientUrl,
    proc,
    // etcd refuses to promote a learner that has not caught up with the leader yet; it says so and
    // the call is repeated until it has.
    promote: async () => {
      await waitFor(
        async () => {
          if (!proc.running) throw new Error(`${name} exited:\n${proc.output()}`);
          await etcdctl(cluster, ['member', 'promote', id]);
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: `learner ${name} to be promoted` },
      );
    },
    remove: async () => {
      await etcdctl(cluster, ['member', 'remove', id]);
      await terminate(proc, 'SIGTERM');
    },
  };
}
