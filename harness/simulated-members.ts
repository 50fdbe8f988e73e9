import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnTracked, terminate } from './processes.js';
import { SimCluster, randomId, type SimMember } from './simulated-members/cluster-state.js';
import {
  loadTemplate,
  type EtcdCaptureVersion,
  type MetricsTemplate,
} from './simulated-members/metrics-template.js';
import { SimServer } from './simulated-members/server.js';

/**
 * Simulated etcd members for scale tests (issue #16): many fake members in one process, each on its own
 * loopback address (Linux routes all of 127.0.0.0/8 to lo), answering what the exporter asks — Status,
 * MemberList, Alarm, HashKV, the probe's LeaseGrant/Put/Range over gRPC, and /metrics, /health, /version
 * over HTTP/1.1 on the same client URL — with a real captured /metrics whose counters and histograms
 * advance. Not a model of raft: every cluster is healthy, its member 0 leads, nothing fails; plain
 * HTTP only (no TLS, no authentication: Authenticate is UNIMPLEMENTED).
 *
 * Cost, measured with 1,002 members in the spawned process on this 2-core machine under load average
 * 13-19 from other work (CPU time of the simulator process, /proc/<pid>/stat): ready in 1.4-1.9 s at
 * ≈90 MiB RSS (≈175 MiB once every member holds an HTTP/2 session and probe keys); idle 6-10 ms/s;
 * /metrics 0.5-0.8 ms per scrape (150 kB; the template render itself 0.13 ms), 0.8-0.9 ms gzipped;
 * gRPC 0.09-0.24 ms per call. At the exporter's defaults (/metrics and Status every 10 s, the health
 * round with the probe every 30 s: ≈100 scrapes and ≈310 calls a second at 1,000 members) that is
 * ≈11-15 % of a core, and a Prometheus scraping all of them directly every 15 s ≈5 % more.
 */

export interface SimulatedMembersOptions {
  readonly clusters: number;
  /** Members per cluster (default 3). */
  readonly membersPerCluster?: number;
  /** Which captures /metrics and Status come from (default 3.4). */
  readonly etcdVersion?: EtcdCaptureVersion;
  /** Cluster names are `<prefix>-<i>`, members `<prefix>-<i>-<j>` (default `sim`). */
  readonly clusterPrefix?: string;
}

export interface SimulatedMembers {
  readonly clusters: { readonly name: string; readonly endpoints: string[] }[];
  /** The simulator's process when spawned (spawnSimulatedMembers). */
  readonly pid?: number;
  stop(): Promise<void>;
}

/** Addresses 127.0.<1..254>.<1..254>: 64,516 members per process before they repeat. */
const HOSTS_PER_SUBNET = 254;
let nextHost = 0;
function nextAddress(): string {
  const k = nextHost++ % (HOSTS_PER_SUBNET * HOSTS_PER_SUBNET);
  return `127.0.${1 + Math.floor(k / HOSTS_PER_SUBNET)}.${1 + (k % HOSTS_PER_SUBNET)}`;
}

/** Metrics epochs are spread over this many ms so members of one role print different values. */
const EPOCH_SPREAD_MS = 30_000;

/** Starts the members in this process. */
export async function startSimulatedMembers(opts: SimulatedMembersOptions): Promise<SimulatedMembers> {
  const size = opts.membersPerCluster ?? 3;
  const version = opts.etcdVersion ?? '3.4';
  const prefix = opts.clusterPrefix ?? 'sim';
  if (!Number.isInteger(opts.clusters) || opts.clusters < 1)
    throw new Error('clusters must be a positive integer');
  if (!Number.isInteger(size) || size < 1) throw new Error('membersPerCluster must be a positive integer');
  const templates: Record<'leader' | 'follower', MetricsTemplate> = {
    leader: loadTemplate(version, 'leader'),
    follower: loadTemplate(version, 'follower'),
  };
  const server = new SimServer();
  const port = await freePort();
  const clusters: SimCluster[] = [];
  const now = Date.now();
  for (let c = 0; c < opts.clusters; c++) {
    const cluster = new SimCluster(`${prefix}-${c}`, templates.leader);
    for (let index = 0; index < size; index++) {
      const id = randomId();
      const host = nextAddress();
      const member: SimMember = {
        name: `${cluster.name}-${index}`,
        id,
        idHex: id.toString(16),
        host,
        port: 0,
        cluster,
        index,
        metricsEpochMs: now - Math.floor(Math.random() * EPOCH_SPREAD_MS),
        clientUrl: () => `http://${host}:${member.port}`,
        peerUrl: () => `http://${host}:${member.port + 1}`,
        calls: new Map(),
      };
      cluster.members.push(member);
    }
    clusters.push(cluster);
  }
  try {
    await Promise.all(
      clusters.flatMap((cluster) =>
        cluster.members.map(async (member) => {
          // Peers in the order the captures name them: a follower's first peer is its leader.
          const peers = cluster.members.filter((m) => m !== member).map((m) => m.idHex);
          const template = member.index === 0 ? templates.leader : templates.follower;
          member.port = await server.listen({ member, template, ids: [member.idHex, ...peers] }, port);
        }),
      ),
    );
  } catch (err) {
    await server.close();
    throw err;
  }
  return {
    clusters: clusters.map((c) => ({ name: c.name, endpoints: c.members.map((m) => m.clientUrl()) })),
    stop: () => server.close(),
  };
}

const MAIN = join(import.meta.dirname, 'simulated-members-main.ts');
const READY_TIMEOUT_MS = 60_000;

/**
 * Starts the members in a child Node process (harness/simulated-members-main.ts), so their CPU is not
 * counted with the caller's; resolves once it printed its JSON line of clusters.
 */
export async function spawnSimulatedMembers(opts: SimulatedMembersOptions): Promise<SimulatedMembers> {
  const proc = spawnTracked(process.execPath, ['--import', 'tsx', MAIN, JSON.stringify(opts)], {
    label: 'simulated-members',
    cwd: join(import.meta.dirname, '..'),
  });
  const stop = async (): Promise<void> => {
    await terminate(proc, 'SIGTERM', 5000);
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error('simulated members not ready within 60 s')),
        READY_TIMEOUT_MS,
      );
      proc.child.stdout?.on('data', (chunk: Buffer | string) => {
        out += String(chunk);
        const end = out.indexOf('\n');
        if (end >= 0) {
          clearTimeout(timer);
          resolve(out.slice(0, end));
        }
      });
      void proc.exited.then((info) => {
        clearTimeout(timer);
        reject(new Error(`simulated members exited (code ${info.code}, signal ${info.signal})`));
      });
    });
    const ready = JSON.parse(line) as { clusters: SimulatedMembers['clusters'] };
    return { clusters: ready.clusters, pid: proc.pid, stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- simulator output ---\n${proc.output()}`);
  }
}
