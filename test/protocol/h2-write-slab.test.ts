import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { H2Call } from '../../src/protocol/h2/call.js';
import { GrpcH2Connection } from '../../src/protocol/h2/connection.js';
import { H2ProtocolError } from '../../src/protocol/h2/errors.js';
import { FRAME_GOAWAY, FRAME_SETTINGS, H2_ENHANCE_YOUR_CALM } from '../../src/protocol/h2/frames.js';
import { WriteSlab } from '../../src/protocol/h2/write-slab.js';
import type { MemberRequestError } from '../../src/util/errors.js';

// The connection's outgoing bytes (src/protocol/h2/write-slab.ts): frames written in one turn leave in one
// socket write, a call's body is kept for one replay, and a server that stops reading is given up past a
// 64 MiB backlog instead of growing the process without bound.

/** A socket stand-in that records every write; `backlog` is what it reports as still unsent. */
class RecordingSocket extends Duplex {
  readonly writes: Buffer[] = [];
  backlog = 0;
  constructor() {
    super();
    // Duplex defines writableLength on its prototype; the stand-in reports `backlog` instead.
    Object.defineProperty(this, 'writableLength', { get: () => this.backlog });
  }
  setNoDelay(): this {
    return this;
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.writes.push(Buffer.from(chunk));
    cb();
  }
}

/** The socket type the connection takes (a type only: the test opens no socket). */
type Socket = ConstructorParameters<typeof WriteSlab>[0];

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const frameTypes = (b: Buffer): number[] => {
  const types: number[] = [];
  for (let o = 0; o + 9 <= b.length; o += 9 + b.readUIntBE(o, 3)) types.push(b[o + 3]!);
  return types;
};

describe('WriteSlab', () => {
  it('gathers everything written in one turn into a single socket write', async () => {
    const socket = new RecordingSocket();
    const out = new WriteSlab(socket as unknown as Socket, () => undefined);
    out.write(Buffer.from('a'));
    out.write(Buffer.from('bc'));
    expect(socket.writes).toHaveLength(0);
    await tick();
    expect(socket.writes.map(String)).toEqual(['abc']);
  });

  it('frames a call as HEADERS + DATA with the gRPC prefix and keeps its body for a replay', async () => {
    const socket = new RecordingSocket();
    const out = new WriteSlab(socket as unknown as Socket, () => undefined);
    const body = Buffer.from('hello');
    const call = new H2Call(
      0,
      body.length,
      (dst, off) => body.copy(dst, off),
      () => undefined,
      false,
    );
    out.writeCall(1, Buffer.from([0x83]), call, 16_384);
    await tick();
    const wire = socket.writes[0]!;
    expect(frameTypes(wire)).toEqual([1, 0]);
    // DATA: 9-byte header after HEADERS (9 + 1), then flag 0, length 5, the body.
    expect(wire.subarray(10 + 9)).toEqual(Buffer.from([0, 0, 0, 0, 5, ...body]));
    expect(call.src!.subarray(call.srcOff, call.srcOff + 5)).toEqual(body);
  });

  it('splits a message larger than MAX_FRAME_SIZE into DATA frames, END_STREAM on the last', async () => {
    const socket = new RecordingSocket();
    const out = new WriteSlab(socket as unknown as Socket, () => undefined);
    const body = Buffer.alloc(40_000, 7);
    const call = new H2Call(
      0,
      body.length,
      (dst, off) => body.copy(dst, off),
      () => undefined,
      false,
    );
    out.writeCall(1, Buffer.from([0x83]), call, 16_384);
    await tick();
    const wire = Buffer.concat(socket.writes);
    expect(frameTypes(wire)).toEqual([1, 0, 0, 0]);
    const flags: number[] = [];
    for (let o = 10; o + 9 <= wire.length; o += 9 + wire.readUIntBE(o, 3)) flags.push(wire[o + 4]!);
    expect(flags).toEqual([0, 0, 1]);
  });

  it('reports a backlog over 64 MiB once and drops writes after stop()', async () => {
    const socket = new RecordingSocket();
    const seen: number[] = [];
    const out = new WriteSlab(socket as unknown as Socket, (bytes) => seen.push(bytes));
    socket.backlog = 64 * 1024 * 1024 + 1;
    out.write(Buffer.from('x'));
    out.flush();
    expect(seen).toEqual([64 * 1024 * 1024 + 1]);
    out.stop();
    out.write(Buffer.from('y'));
    out.flush();
    await tick();
    expect(socket.writes.map(String)).toEqual(['x']);
  });
});

describe('a server that stops reading', () => {
  it('ends the connection with GOAWAY ENHANCE_YOUR_CALM and fails its calls; the process stays up', async () => {
    const socket = new RecordingSocket();
    const { conn, ready } = GrpcH2Connection.attach(
      socket as unknown as Socket,
      { host: '127.0.0.1', port: 2379 },
      { timeoutMs: 5_000, callTimeoutMs: 30_000 },
    );
    // The server's (empty) SETTINGS completes the handshake.
    socket.push(Buffer.from([0, 0, 0, FRAME_SETTINGS, 0, 0, 0, 0, 0]));
    await ready;
    await tick();
    socket.backlog = 64 * 1024 * 1024 + 1;
    const ended = new Promise<{ status: number; error: MemberRequestError | undefined }>((resolve) =>
      conn.unary(
        conn.method('/etcdserverpb.KV/Range'),
        3,
        (dst, off) => dst.write('abc', off),
        (status, _m, _b, error) => resolve({ status, error }),
      ),
    );
    const { error } = await ended;
    expect(error).toBeInstanceOf(H2ProtocolError);
    expect(error?.message).toMatch(/has not read \d+ bytes/);
    expect(conn.dead).toBe(true);
    const last = socket.writes.at(-1)!;
    expect(frameTypes(last)).toEqual([FRAME_GOAWAY]);
    expect(last.readUInt32BE(9 + 4)).toBe(H2_ENHANCE_YOUR_CALM);
  });
});
