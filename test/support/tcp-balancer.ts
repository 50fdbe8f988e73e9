import net from 'node:net';

/**
 * A round-robin TCP load balancer on a loopback port, as a user would put in front of etcd's client
 * port (HAProxy in TCP mode, a Kubernetes Service). Each accepted connection goes to the next backend;
 * bytes are piped as they are (HTTP/2 and gRPC pass through untouched).
 */
export interface TcpBalancer {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpBalancer(backends: readonly string[]): Promise<TcpBalancer> {
  const targets = backends.map((b) => new URL(b));
  const sockets = new Set<net.Socket>();
  let next = 0;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const target = targets[next++ % targets.length] as URL;
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
