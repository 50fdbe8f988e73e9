import { rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import { onProcessExit, terminate, waitFor } from './processes.js';
import type { EtcdCluster, Member, MemberHandle } from './etcd-cluster.js';

// The cluster startCluster (etcd-cluster.ts) hands out: stopping, killing, pausing and restarting members,
// waiting for health, finding the leader through the gRPC gateway, and removing everything on destroy().

/** How long a (re)started member may take to answer /health with "true". */
export const START_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 1_000;
const LOG_LINES_IN_ERRORS = 40;

// Temp roots of clusters not yet destroyed, removed if the process dies before destroy() runs.
export const liveDirs = new Set<string>();
onProcessExit(() => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

/** etcd could not bind a port freePorts found free a moment earlier: launch again with fresh ones. */
export class PortInUseError extends Error {}

/** The fields of a gateway status response used here; etcd 3.4 prints uint64s as decimal strings. */
interface StatusBody {
  leader?: string;
  raftTerm?: string;
}

export class RunningCluster implements EtcdCluster {
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
