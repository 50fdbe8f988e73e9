// Loopback TCP proxies in front of etcd members' peer URLs that add delay or drop one direction, as
// etcd's functional tester does with its proxy (tests/functional/agent: "DELAY_PEER_PORT_TX_RX",
// "BLACKHOLE_PEER_PORT_TX_RX"), but per source member: etcd's peer requests (raft streams, pipeline
// posts, snapshots) carry `X-Server-From: <member ID in hex>`, so the proxy reads the first request's
// headers of each connection to learn who is talking. Peer traffic is plain HTTP/1.1 here (no peer TLS).
import net from 'node:net';
import { fetch } from 'undici';

/** A fault on one direction of the links it applies to. */
export interface LinkFault {
  /** Added latency per chunk, in ms (order is kept). */
  readonly delayMs?: number;
  /** Swallow the bytes: the sender's writes succeed, nothing arrives. */
  readonly drop?: boolean;
}

/** Bytes travelling to the member behind the proxy (requests) or from it (responses, stream data). */
export type Direction = 'to-target' | 'from-target';

/** Headers are read until this many bytes at most; peer request headers are a few hundred bytes. */
const MAX_HEADER_BYTES = 16 * 1024;

/** One TCP proxy: listens on a free loopback port and forwards to `target` with the faults in force. */
export class FaultProxy {
  private readonly sockets = new Set<net.Socket>();
  private readonly faults = new Map<string, LinkFault>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private target: number,
  ) {}

  static async start(targetPort: number): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port, targetPort);
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** Forwards new connections to another port (the member was relaunched on fresh ports). */
  retarget(targetPort: number): void {
    this.target = targetPort;
  }

  /** Sets (or with `undefined` clears) the fault of one direction for connections from `source` ('*' = any). */
  setFault(direction: Direction, source: string, fault: LinkFault | undefined): void {
    const key = `${direction} ${source}`;
    if (fault) this.faults.set(key, fault);
    else this.faults.delete(key);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private faultFor(direction: Direction, source: string | undefined): LinkFault | undefined {
    return (source && this.faults.get(`${direction} ${source}`)) || this.faults.get(`${direction} *`);
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    let source: string | undefined;
    let identified = false;
    let head = Buffer.alloc(0);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    const toTarget = new DelayedPipe(upstream, () => this.faultFor('to-target', source), cut);
    const fromTarget = new DelayedPipe(client, () => this.faultFor('from-target', source), cut);
    client.on('data', (chunk: Buffer) => {
      if (identified) return toTarget.push(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 && head.length < MAX_HEADER_BYTES) return;
      identified = true;
      const match = /^x-server-from:\s*([0-9a-f]+)\s*$/im.exec(head.subarray(0, end).toString('latin1'));
      source = match?.[1]?.toLowerCase();
      toTarget.push(head);
    });
    upstream.on('data', (chunk: Buffer) => fromTarget.push(chunk));
    client.on('end', () => {
      if (!identified && head.length > 0) toTarget.push(head);
      toTarget.end();
    });
    upstream.on('end', () => fromTarget.end());
  }
}

/**
 * Writes chunks to `out` after the current fault's delay, in order, or drops them. One FIFO and one timer:
 * a timer per chunk reordered bytes, because Node fires timers of different durations that expire in the
 * same millisecond in no set order (a lowered delay gives many chunks the same due time); reordered raft
 * stream bytes once made an etcd 3.4 follower panic in raftLog.maybeAppend (network-fault suite).
 */
class DelayedPipe {
  private readonly queue: { due: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  /** Bytes were dropped: the stream has a gap no real TCP connection delivers. */
  private gap = false;

  constructor(
    private readonly out: net.Socket,
    private readonly fault: () => LinkFault | undefined,
    /** Closes the connection both ways. */
    private readonly cut: () => void,
  ) {}

  push(chunk: Buffer): void {
    const f = this.fault();
    if (f?.drop) {
      this.gap = true;
      return;
    }
    // Once the drop is lifted, a connection that lost bytes is closed instead of resumed: TCP never
    // delivers a stream with a hole (a blackholed connection stalls until it times out), and the bytes after
    // one decode as garbage — an etcd 3.5 member that had been cut off panicked in raftLog.maybeAppend
    // ("tocommit out of range") on the first append after healing, in 2 of 2 runs of the 3-member suite.
    if (this.gap) {
      this.cut();
      return;
    }
    const delay = f?.delayMs ?? 0;
    if (delay <= 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    // Never before an earlier chunk: a delay lowered mid-stream must not reorder bytes.
    const last = this.queue[this.queue.length - 1];
    this.queue.push({ due: Math.max(Date.now() + delay, last?.due ?? 0), chunk });
    this.schedule();
  }

  end(): void {
    this.ended = true;
    if (this.queue.length === 0) this.out.end();
  }

  private schedule(): void {
    const head = this.queue[0];
    if (this.timer || !head) return;
    this.timer = setTimeout(() => this.drain(), Math.max(0, head.due - Date.now()));
    this.timer.unref();
  }

  private drain(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.queue.length > 0 && (this.queue[0]?.due ?? Infinity) <= now) {
      this.write((this.queue.shift() as { chunk: Buffer }).chunk);
    }
    if (this.queue.length > 0) this.schedule();
    else if (this.ended) this.out.end();
  }

  private write(chunk: Buffer): void {
    if (!this.out.destroyed) this.out.write(chunk);
  }
}

/**
 * One proxy per member of a cluster started with `advertisePeerUrl: net.advertise`: members listen on
 * their own peer port and advertise the proxy's, so every peer connection passes a proxy.
 */
export class PeerFaultNet {
  private readonly proxies = new Map<number, FaultProxy>();
  /** Member index → raft member ID in hex (as X-Server-From and etcd_server_id print it). */
  private readonly ids = new Map<number, string>();

  /** For ClusterOptions.advertisePeerUrl: the URL of the proxy in front of member `index`. */
  readonly advertise = async (index: number, listenPeerUrl: string): Promise<string> => {
    const port = Number(new URL(listenPeerUrl).port);
    let proxy = this.proxies.get(index);
    if (proxy) proxy.retarget(port);
    else {
      proxy = await FaultProxy.start(port);
      this.proxies.set(index, proxy);
    }
    return `http://127.0.0.1:${proxy.port}`;
  };

  /** Learns member IDs from the member list (by member name) once the cluster runs. */
  async learnIds(clientUrl: string, names: readonly string[]): Promise<void> {
    const res = await fetch(`${clientUrl}/v3/cluster/member/list`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as { members?: { ID?: string; name?: string }[] };
    for (const m of body.members ?? []) {
      const index = names.indexOf(m.name ?? '');
      if (index >= 0 && m.ID) this.ids.set(index, BigInt(m.ID).toString(16));
    }
    if (this.ids.size !== names.length) throw new Error(`member IDs of ${names.join(', ')} not all found`);
  }

  idOf(index: number): string {
    const id = this.ids.get(index);
    if (!id) throw new Error(`member ${index}: ID unknown (call learnIds first)`);
    return id;
  }

  /** Adds `delayMs` each way on every peer link of member `index` (its proxy, and its traffic to others). */
  delayLinksOf(index: number, delayMs: number): void {
    const id = this.idOf(index);
    for (const [i, proxy] of this.proxies) {
      const source = i === index ? '*' : id;
      proxy.setFault('to-target', source, { delayMs });
      proxy.setFault('from-target', source, { delayMs });
    }
  }

  /**
   * Raises the delay on member `index`'s links to `delayMs` in steps. A delay switched on at once holds
   * back every byte for its whole length: a 1.2 s silence in the round trip to the leader, longer than
   * the 1 s election timeout, so the leader's CheckQuorum may step it down and the cluster elects another
   * leader. Steps of `stepMs` leave gaps no longer than a step, so the cluster stays slow but keeps its leader.
   */
  async rampDelayOf(index: number, delayMs: number, stepMs = 100, everyMs = 300): Promise<void> {
    for (let d = Math.min(stepMs, delayMs); ; d = Math.min(d + stepMs, delayMs)) {
      this.delayLinksOf(index, d);
      if (d >= delayMs) return;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Drops every byte member `from` sends to member `to`; `to` → `from` keeps flowing. */
  dropOneWay(from: number, to: number): void {
    // Requests `from` makes to `to` (pipeline posts, stream dials) …
    this.proxy(to).setFault('to-target', this.idOf(from), { drop: true });
    // … and what `from` writes on streams `to` opened to it (appends, heartbeat responses).
    this.proxy(from).setFault('from-target', this.idOf(to), { drop: true });
  }

  heal(): void {
    for (const proxy of this.proxies.values()) proxy.clearFaults();
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    this.proxies.clear();
  }

  private proxy(index: number): FaultProxy {
    const proxy = this.proxies.get(index);
    if (!proxy) throw new Error(`no proxy for member ${index}`);
    return proxy;
  }
}
