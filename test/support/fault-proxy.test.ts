// The fault proxy of the network-fault tests, on a plain loopback TCP target: what passes, what is
// dropped, and that a connection which lost bytes is closed rather than resumed once the drop is lifted.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.js';

const HEADER = 'GET /raft/stream/msgapp/1 HTTP/1.1\r\nX-Server-From: abc123\r\n\r\n';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A target that records every byte it receives and whether the proxy's connection to it closed. */
async function target() {
  const got: Buffer[] = [];
  let closed = false;
  const server = net.createServer((s) => {
    s.on('data', (c: Buffer) => got.push(c));
    s.on('close', () => (closed = true));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    text: () => Buffer.concat(got).toString('latin1'),
    closed: () => closed,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function connected() {
  const t = await target();
  const proxy = await FaultProxy.start(t.port);
  const client = net.connect(proxy.port, '127.0.0.1');
  client.on('error', () => undefined);
  let clientClosed = false;
  client.on('close', () => (clientClosed = true));
  await new Promise<void>((r) => client.once('connect', () => r()));
  cleanups.push(
    () => t.close(),
    () => proxy.close(),
    () => void client.destroy(),
  );
  client.write(HEADER);
  await sleep(100);
  return { t, proxy, client, clientClosed: () => clientClosed };
}

describe('FaultProxy', () => {
  it('forwards bytes in order when no fault is set', async () => {
    const { t, client } = await connected();
    client.write('one;');
    client.write('two;');
    await sleep(100);
    expect(t.text()).toBe(`${HEADER}one;two;`);
  });

  it('drops the bytes of a source while its drop fault holds', async () => {
    const { t, proxy, client, clientClosed } = await connected();
    proxy.setFault('to-target', 'abc123', { drop: true });
    client.write('lost;');
    await sleep(100);
    expect(t.text()).toBe(HEADER);
    expect(clientClosed()).toBe(false);
  });

  it('closes a connection that lost bytes once the drop is lifted, instead of resuming it with a gap', async () => {
    const { t, proxy, client, clientClosed } = await connected();
    proxy.setFault('to-target', 'abc123', { drop: true });
    client.write('lost;');
    await sleep(100);
    proxy.clearFaults();
    client.write('after;');
    await sleep(200);
    expect(t.text()).toBe(HEADER);
    expect(t.closed()).toBe(true);
    expect(clientClosed()).toBe(true);
  });

  it('a drop fault set and lifted without traffic leaves the connection working', async () => {
    const { t, proxy, client, clientClosed } = await connected();
    proxy.setFault('to-target', 'abc123', { drop: true });
    proxy.clearFaults();
    client.write('kept;');
    await sleep(100);
    expect(t.text()).toBe(`${HEADER}kept;`);
    expect(clientClosed()).toBe(false);
  });
});
