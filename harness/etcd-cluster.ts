import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Agent, fetch } from 'undici';
import { freePorts } from './free-port.js';
import { onProcessExit, spawnTracked, terminate, waitFor, type TrackedProcess } from './processes.js';
import { generateTlsMaterial, type TlsMaterial } from './tls.js';

export const ETCD_BIN = process.env.ETCD_BIN ?? 'etcd';

const START_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 1_000;
const LOG_LINES_IN_ERRORS = 40;

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

// Temp roots of clusters not yet destroyed, removed if the process dies before destroy() runs.
const liveDirs = new Set<string>();
onProcessExit(() => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

class PortInUseError extends Error {}

/** The fields of a gateway status response used here; etcd 3.4 prints uint64s as decimal strings. */
interface StatusBody {
  leader?: string;
  raftTerm?: string;
}

class Member implements MemberHandle {
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

class Cluster implements EtcdCluster {
  private destroying: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly memberList: Member[],
    private readonly dispatcher: Agent,
    readonly tls: { caFile: string; certFile: string; keyFile: string } | undefined,
  ) {}

  get members(): MemberHandle[] {
    return this.memberList;
  }

  get endpoints(): string[] {
    return this.memberList.map((m) => m.clientUrl);
  }

  async stop(i: number): Promise<void> {
    const m = this.member(i);
    if (m.proc) await terminate(m.proc, 'SIGTERM');
    m.paused = false;
  }

  async kill(i: number): Promise<void> {
    const m = this.member(i);
    if (m.proc) await terminate(m.proc, 'SIGKILL');
    m.paused = false;
  }

  pause(i: number): void {
    const m = this.runningMember(i);
    m.proc?.child.kill('SIGSTOP');
    m.paused = true;
  }

  resume(i: number): void {
    const m = this.runningMember(i);
    m.proc?.child.kill('SIGCONT');
    m.paused = false;
  }

  async restart(i: number): Promise<void> {
    const m = this.member(i);
    if (m.running) throw new Error(`member ${i} (${m.name}) is still running; stop or kill it first`);
    // The data dir already holds the membership, so etcd ignores --initial-cluster and rejoins as before.
    m.start('existing');
    await this.untilHealthyOrExit(
      [m],
      START_TIMEOUT_MS,
      `restarted member ${i} (${m.name}) to serve /health`,
    );
  }

  async waitHealthy(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const targets = this.memberList.filter((m) => m.running && !m.paused);
    await this.pollHealthy(
      targets,
      timeoutMs,
      `members ${targets.map((m) => m.index).join(',')} to be healthy`,
    );
  }

  /**
   * Asks every reachable member for its status and believes the one with the highest raft term, so a
   * resumed ex-leader that has not yet heard of the new term cannot win. Paused members are skipped
   * because a stopped process would hang the request.
   */
  async leaderIndex(): Promise<number> {
    return waitFor(
      async () => {
        const statuses = await Promise.all(
          this.memberList
            .filter((m) => m.running && !m.paused)
            .map((m) => this.status(m).catch(() => undefined)),
        );
        let best: StatusBody | undefined;
        for (const s of statuses) {
          if (s && (!best || Number(s.raftTerm ?? 0) > Number(best.raftTerm ?? 0))) best = s;
        }
        if (!best) throw new Error('no member answered /v3/maintenance/status');
        if (!best.leader || best.leader === '0') throw new Error(`no leader in term ${best.raftTerm}`);
        const leader = this.memberList.find((m) => m.id === best.leader);
        if (!leader) throw new Error(`leader ID ${best.leader} matches no member`);
        return leader.index;
      },
      { timeoutMs: 10_000, what: 'a member to report the current leader' },
    );
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await Promise.all(this.memberList.map((m) => (m.proc ? terminate(m.proc, 'SIGKILL') : undefined)));
      await this.dispatcher.close().catch(() => undefined);
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
      liveDirs.delete(this.dir);
    })();
    return this.destroying;
  }

  /** Learns each member's raft ID once, so leaderIndex can map the `leader` field back to an index. */
  async loadMemberIds(): Promise<void> {
    const first = this.memberList[0] as Member;
    const res = await this.gateway(first, '/v3/cluster/member/list', {});
    const body = (await res.json()) as { members?: { ID?: string; name?: string }[] };
    for (const entry of body.members ?? []) {
      const m = this.memberList.find((x) => x.name === entry.name);
      if (m) m.id = entry.ID;
    }
  }

  /** Waits for `targets` to be healthy, failing fast (with logs) if any of them exits meanwhile. */
  async untilHealthyOrExit(targets: Member[], timeoutMs: number, what: string): Promise<void> {
    let settled = false;
    const exited = new Promise<never>((_, reject) => {
      for (const m of targets) {
        void m.proc?.exited.then(() => {
          if (!settled)
            reject(new Error(`member ${m.index} (${m.name}) ${m.describeExit()} while waiting for ${what}`));
        });
      }
    });
    // Keeps a late exit (after the race is decided) from surfacing as an unhandled rejection.
    exited.catch(() => undefined);
    try {
      await Promise.race([this.pollHealthy(targets, timeoutMs, what), exited]);
    } catch (err) {
      const message = `${err instanceof Error ? err.message : String(err)}\n${this.logDump(targets)}`;
      if (targets.some((m) => /address already in use/.test(m.logs()))) throw new PortInUseError(message);
      throw new Error(message);
    } finally {
      settled = true;
    }
  }

  private async pollHealthy(targets: Member[], timeoutMs: number, what: string): Promise<void> {
    await waitFor(
      async () => {
        const results = await Promise.all(targets.map((m) => this.isHealthy(m)));
        const sick = targets.filter((_, k) => !results[k]).map((m) => m.index);
        if (sick.length > 0) throw new Error(`not healthy yet: member(s) ${sick.join(',')}`);
        return true;
      },
      { timeoutMs, intervalMs: 200, what },
    );
  }

  private async isHealthy(m: Member): Promise<boolean> {
    try {
      const res = await fetch(`${m.metricsUrl}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      const body = (await res.json()) as { health?: unknown };
      return body.health === 'true';
    } catch {
      return false;
    }
  }

  private async status(m: Member): Promise<StatusBody> {
    const res = await this.gateway(m, '/v3/maintenance/status', {});
    if (!res.ok) throw new Error(`status of member ${m.index}: HTTP ${res.status}`);
    return (await res.json()) as StatusBody;
  }

  private gateway(m: Member, route: string, body: unknown): ReturnType<typeof fetch> {
    return fetch(`${m.clientUrl}${route}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
  }

  private logDump(targets: Member[]): string {
    return targets
      .map((m) => {
        const lines = m.logs().split('\n').slice(-LOG_LINES_IN_ERRORS).join('\n');
        return `--- ${m.name} (${m.describeExit()}), last ${LOG_LINES_IN_ERRORS} log lines ---\n${lines}`;
      })
      .join('\n');
  }

  private member(i: number): Member {
    const m = this.memberList[i];
    if (!m) throw new Error(`no member ${i}; the cluster has ${this.memberList.length}`);
    return m;
  }

  private runningMember(i: number): Member {
    const m = this.member(i);
    if (!m.running) throw new Error(`member ${i} (${m.name}) is not running`);
    return m;
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

async function launch(opts: ClusterOptions): Promise<Cluster> {
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
  const cluster = new Cluster(dir, members, dispatcher, tlsCreds);
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
