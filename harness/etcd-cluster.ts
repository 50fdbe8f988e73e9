import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { freePorts } from './free-port.js';
import { spawnTracked, type TrackedProcess } from './processes.js';
import { liveDirs, PortInUseError, RunningCluster, START_TIMEOUT_MS } from './running-cluster.js';
import { generateTlsMaterial, type TlsMaterial } from './tls.js';

/** The etcd binary the harness runs (Debian's etcd-server package installs it on PATH). */
export const ETCD_BIN = process.env.ETCD_BIN ?? 'etcd';

let binVersion: string | undefined;
/**
 * Version of ETCD_BIN (`3.4.23`, `3.5.30`): `make test` runs the live suites once per etcd version
 * (PATH decides which `etcd`), and a few facts differ between them (see README, compatibility).
 */
export function etcdVersion(): string {
  if (binVersion === undefined) {
    const out = execFileSync(ETCD_BIN, ['--version'], { encoding: 'utf8' });
    const found = /etcd Version: (\S+)/.exec(out)?.[1];
    if (!found) throw new Error(`cannot read the version of ${ETCD_BIN} from:\n${out}`);
    binVersion = found;
  }
  return binVersion;
}

export interface ClusterOptions {
  size?: number;
  /** Cluster token and member name prefix; a random `test-xxxx` by default. */
  name?: string;
  quotaBackendBytes?: number;
  /** Client and peer TLS with client-cert-auth on the client URLs; metrics stay on plain HTTP. */
  tls?: boolean;
  heartbeatMs?: number;
  electionMs?: number;
  extraArgs?: string[];
  /**
   * The peer URL member `index` advertises (--initial-advertise-peer-urls, --initial-cluster) while it
   * listens on `listenPeerUrl`: e.g. a fault proxy's URL (test/support/fault-proxy.ts).
   */
  advertisePeerUrl?: (index: number, listenPeerUrl: string) => Promise<string>;
  /**
   * The client URL member `index` advertises in the member list (--advertise-client-urls) while it
   * listens on its own port, e.g. an address the exporter cannot reach. Default: the listen URL.
   */
  advertiseClientUrl?: (index: number, listenClientUrl: string) => string;
}

export interface MemberHandle {
  index: number;
  name: string;
  clientUrl: string;
  peerUrl: string;
  /** Plain-HTTP `--listen-metrics-urls` listener (serves /metrics and /health), without a path. */
  metricsUrl: string;
  dataDir: string;
  readonly running: boolean;
  readonly paused: boolean;
  /** The member's most recent log lines, for assertion messages. */
  logs(): string;
}

export interface EtcdCluster {
  readonly members: MemberHandle[];
  readonly endpoints: string[];
  /** Client credentials, present when the cluster was started with `tls: true`. */
  readonly tls?: { caFile: string; certFile: string; keyFile: string };
  readonly dir: string;
  stop(i: number): Promise<void>;
  kill(i: number): Promise<void>;
  pause(i: number): void;
  resume(i: number): void;
  restart(i: number): Promise<void>;
  /** Every running, unpaused member answers /health with "true" (etcd 3.4 says "false" while any alarm is raised). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  leaderIndex(): Promise<number>;
  destroy(): Promise<void>;
}

/** One etcd process: its URLs, data dir and command line; started again on the same ones after a stop. */
export class Member implements MemberHandle {
  proc: TrackedProcess | undefined;
  paused = false;
  /** Raft member ID as the gRPC gateway prints it (a decimal uint64 string). */
  id: string | undefined;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly metricsUrl: string,
    readonly dataDir: string,
    private readonly baseArgs: string[],
  ) {}

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  logs(): string {
    return this.proc?.output() ?? '';
  }

  start(state: 'new' | 'existing'): void {
    this.paused = false;
    this.proc = spawnTracked(ETCD_BIN, [...this.baseArgs, `--initial-cluster-state=${state}`], {
      label: this.name,
    });
  }

  describeExit(): string {
    const info = this.proc?.exitInfo;
    return info ? `exited (code ${info.code}, signal ${info.signal})` : 'running';
  }
}

function tlsArgs(material: TlsMaterial): string[] {
  return [
    `--cert-file=${material.serverCertFile}`,
    `--key-file=${material.serverKeyFile}`,
    `--trusted-ca-file=${material.caFile}`,
    '--client-cert-auth',
    `--peer-cert-file=${material.serverCertFile}`,
    `--peer-key-file=${material.serverKeyFile}`,
    `--peer-trusted-ca-file=${material.caFile}`,
    '--peer-client-cert-auth',
  ];
}

async function launch(opts: ClusterOptions): Promise<RunningCluster> {
  const size = opts.size ?? 3;
  const name = opts.name ?? `test-${randomBytes(2).toString('hex')}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'etcd-monitor-test-'));
  liveDirs.add(dir);

  let material: TlsMaterial | undefined;
  let dispatcher: Agent;
  try {
    if (opts.tls) {
      material = await generateTlsMaterial(path.join(dir, 'tls'), { hosts: ['127.0.0.1', 'localhost'] });
      const [ca, cert, key] = await Promise.all(
        [material.caFile, material.clientCertFile, material.clientKeyFile].map((f) => readFile(f)),
      );
      dispatcher = new Agent({ connect: { ca, cert, key } });
    } else {
      dispatcher = new Agent();
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw err;
  }

  const scheme = opts.tls ? 'https' : 'http';
  const ports = await freePorts(size * 3);
  const layout = Array.from({ length: size }, (_, i) => ({
    name: `${name}-${i}`,
    clientUrl: `${scheme}://127.0.0.1:${ports[i * 3]}`,
    peerUrl: `${scheme}://127.0.0.1:${ports[i * 3 + 1]}`,
    metricsUrl: `http://127.0.0.1:${ports[i * 3 + 2]}`,
    dataDir: path.join(dir, `member-${i}`),
  }));
  const advertised = await Promise.all(
    layout.map((l, i) => (opts.advertisePeerUrl ? opts.advertisePeerUrl(i, l.peerUrl) : l.peerUrl)),
  );
  const initialCluster = layout.map((l, i) => `${l.name}=${advertised[i]}`).join(',');

  const members = layout.map((l, i) => {
    const args = [
      `--name=${l.name}`,
      `--data-dir=${l.dataDir}`,
      `--listen-client-urls=${l.clientUrl}`,
      `--advertise-client-urls=${opts.advertiseClientUrl ? opts.advertiseClientUrl(i, l.clientUrl) : l.clientUrl}`,
      `--listen-peer-urls=${l.peerUrl}`,
      `--initial-advertise-peer-urls=${advertised[i]}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-token=${name}`,
      `--listen-metrics-urls=${l.metricsUrl}`,
      `--heartbeat-interval=${opts.heartbeatMs ?? 100}`,
      `--election-timeout=${opts.electionMs ?? 1000}`,
      '--logger=zap',
      '--log-outputs=stderr',
      ...(opts.quotaBackendBytes !== undefined ? [`--quota-backend-bytes=${opts.quotaBackendBytes}`] : []),
      ...(material ? tlsArgs(material) : []),
      ...(opts.extraArgs ?? []),
    ];
    return new Member(i, l.name, l.clientUrl, l.peerUrl, l.metricsUrl, l.dataDir, args);
  });

  const tlsCreds = material
    ? { caFile: material.caFile, certFile: material.clientCertFile, keyFile: material.clientKeyFile }
    : undefined;
  const cluster = new RunningCluster(dir, members, dispatcher, tlsCreds);
  try {
    for (const m of members) m.start('new');
    await cluster.untilHealthyOrExit(
      members,
      START_TIMEOUT_MS,
      `all ${size} members of ${name} to be healthy`,
    );
    await cluster.loadMemberIds();
    return cluster;
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
}

/** Starts an etcd cluster of real processes on loopback ports and resolves once every member is healthy. */
export async function startCluster(opts: ClusterOptions = {}): Promise<EtcdCluster> {
  try {
    return await launch(opts);
  } catch (err) {
    // freePort only proves a port was free a moment ago; another process may have taken it since.
    if (!(err instanceof PortInUseError)) throw err;
    try {
      return await launch(opts);
    } catch (again) {
      if (again instanceof PortInUseError) again.message = `(retried once with fresh ports) ${again.message}`;
      throw again;
    }
  }
}
