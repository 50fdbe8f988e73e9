import { readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcH2Connection } from '../../src/protocol/h2/connection.js';
import { MemberRequestError, TRANSPORT_ERROR_CODES } from '../../src/util/errors.js';

// Mutation fuzzing of the hand-framed HTTP/2 client with real etcd responses (test/fixtures/h2/README.md):
// length fields, flags, types, stream ids and HPACK bytes are changed, frames dropped, duplicated,
// truncated, and the bytes arrive in random chunks. Every iteration must end every call exactly once,
// with either a result or a typed error whose code is one of the project's transport codes; nothing may
// escape as an uncaught exception. Bytes go in through the socket's 'data' event of an in-memory Duplex
// (20,000 loopback connections would take minutes and exhaust ephemeral ports); the hostile-server test
// covers real sockets.

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(
  readFileSync(path.join(here, '../fixtures/h2/etcd-3.4-responses.json'), 'utf8'),
) as {
  calls: Array<{ path: string; request: string }>;
  serverChunks: string[];
};
const CALLS = fixture.calls.map((c) => ({ path: c.path, request: Buffer.from(c.request, 'base64') }));
const WIRE = Buffer.concat(fixture.serverChunks.map((c) => Buffer.from(c, 'base64')));
const ITERATIONS = Number(process.env.H2_FUZZ_ITERATIONS ?? 20_000);
const SEED = Number(process.env.H2_FUZZ_SEED ?? 0x5eed12);
const KNOWN_CODES = new Set(Object.keys(TRANSPORT_ERROR_CODES));

/** mulberry32: small, seedable, good enough to pick mutations reproducibly. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Start offsets of the captured frames (RFC 7540 §4.1 headers). */
function frameOffsets(wire: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o + 9 <= wire.length; o += 9 + ((wire[o]! << 16) | (wire[o + 1]! << 8) | wire[o + 2]!))
    out.push(o);
  return out;
}
const FRAMES = frameOffsets(WIRE);
const frameLen = (w: Buffer, o: number): number => (w[o]! << 16) | (w[o + 1]! << 8) | w[o + 2]!;

function mutate(rand: () => number): { wire: Buffer; frames: Buffer[]; what: string[] } {
  const int = (n: number): number => Math.floor(rand() * n);
  let frames = FRAMES.map((o) => Buffer.from(WIRE.subarray(o, o + 9 + frameLen(WIRE, o))));
  const what: string[] = [];
  const count = 1 + int(4);
  for (let m = 0; m < count; m++) {
    const i = int(frames.length);
    const f = frames[i]!;
    switch (int(9)) {
      case 0: {
        // Length field: off by a little, zero, or anything up to 2^24-1.
        const len = frameLen(f, 0);
        const v = [0, len + 1, Math.max(0, len - 1), len + 1 + int(64), int(1 << 24), 16_385, 3, 7][int(8)]!;
        f[0] = (v >>> 16) & 0xff;
        f[1] = (v >>> 8) & 0xff;
        f[2] = v & 0xff;
        what.push(`len#${i}=${v}`);
        break;
      }
      case 1:
        f[4] = f[4]! ^ (1 << int(8));
        what.push(`flags#${i}=${f[4]}`);
        break;
      case 2:
        // Often a control type (RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE) on a frame of another
        // size: the short-GOAWAY class of bug.
        f[3] = int(3) === 0 ? int(256) : int(2) === 0 ? [3, 4, 6, 7, 8][int(5)]! : int(10);
        what.push(`type#${i}=${f[3]}`);
        break;
      case 3: {
        const id = [0, 2, 99, 2 ** 31 - 1, f.readUInt32BE(5) + 2, 0xffffffff, 1][int(7)]!;
        f.writeUInt32BE(id >>> 0, 5);
        what.push(`id#${i}=${id}`);
        break;
      }
      case 4: {
        // HPACK bytes of a header block (or any payload when the frame has none to hit).
        const headers = frames.map((x, k) => (x[3] === 1 || x[3] === 9 ? k : -1)).filter((k) => k >= 0);
        const k = headers.length ? headers[int(headers.length)]! : i;
        const h = frames[k]!;
        if (h.length > 9) {
          const at = 9 + int(h.length - 9);
          h[at] = [int(256), h[at]! ^ (1 << int(8)), 0xff, 0x80, 0x3f, 0x7f][int(6)]!;
          what.push(`hpack#${k}@${at}`);
        }
        break;
      }
      case 5:
        frames.splice(i, 1);
        what.push(`drop#${i}`);
        break;
      case 6:
        frames.splice(i, 0, Buffer.from(f));
        what.push(`dup#${i}`);
        break;
      case 7: {
        const j = int(frames.length);
        [frames[i], frames[j]] = [frames[j]!, frames[i]!];
        what.push(`swap#${i},${j}`);
        break;
      }
      default:
        if (f.length > 0) {
          const at = int(f.length);
          f[at] = int(256);
          what.push(`byte#${i}@${at}`);
        }
    }
    if (frames.length === 0) frames = [Buffer.alloc(0)];
  }
  let wire = Buffer.concat(frames);
  if (int(5) === 0) {
    wire = wire.subarray(0, int(wire.length));
    what.push(`truncate@${wire.length}`);
    frames = [wire];
  }
  return { wire, frames, what };
}

/** An in-memory socket: the client's writes go nowhere, the test emits the server's bytes as 'data'. */
function memorySocket(): net.Socket {
  const d = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  return Object.assign(d, { setNoDelay: () => d }) as unknown as net.Socket;
}

interface Run {
  done: number;
  statuses: number[];
  bad: string[];
}

async function runOnce(wire: Buffer, rand: () => number, frames?: Buffer[]): Promise<Run> {
  const socket = memorySocket();
  const { conn } = GrpcH2Connection.attach(
    socket,
    { host: '127.0.0.1', port: 2379 },
    { timeoutMs: 60_000, callTimeoutMs: 60_000 },
  );
  const run: Run = { done: 0, statuses: Array(CALLS.length).fill(-1), bad: [] };
  CALLS.forEach((c, i) => {
    conn.unary(
      conn.method(c.path),
      c.request.length,
      (dst, off) => c.request.copy(dst, off),
      (status, _message, _body, error) => {
        run.done++;
        if (run.statuses[i] !== -1) run.bad.push(`call ${i} completed twice`);
        run.statuses[i] = status;
        if (status !== 0 && !(error instanceof MemberRequestError))
          run.bad.push(`call ${i}: status ${status} without a typed error`);
        if (error && !KNOWN_CODES.has(error.code)) run.bad.push(`call ${i}: unknown code ${error.code}`);
      },
      i % 2 === 0,
    );
  });
  // A third of the runs get one read per (mutated) frame, as when every frame is its own TCP segment:
  // then a frame shorter than its type needs ends its read, where reading past it would throw.
  if (frames && rand() < 0.33) for (const f of frames) socket.emit('data', f);
  else
    for (let o = 0; o < wire.length;) {
      // Mostly socket-sized reads, sometimes a dribble (frames split across many reads).
      const n = 1 + Math.floor(rand() * (rand() < 0.1 ? 64 : 8192));
      socket.emit('data', wire.subarray(o, o + n));
      o += n;
    }
  socket.destroy();
  for (let spins = 0; run.done < CALLS.length && spins < 20; spins++)
    await new Promise((r) => setImmediate(r));
  return run;
}

const uncaught: unknown[] = [];
const record = (err: unknown): void => {
  uncaught.push(err);
};
beforeAll(() => {
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
});
afterAll(() => {
  process.off('uncaughtException', record);
  process.off('unhandledRejection', record);
});

describe('HTTP/2 client fuzzed with mutated real etcd responses', () => {
  it('the unmutated capture replays as captured: eight OK answers and one OUT_OF_RANGE (11)', async () => {
    const run = await runOnce(WIRE, rng(1));
    expect(run.bad).toEqual([]);
    expect(run.statuses).toEqual([0, 0, 0, 0, 0, 0, 0, 11, 0]);
    expect(FRAMES.length).toBeGreaterThan(40);
  });

  it(`${ITERATIONS} mutated replays: every call ends once, typed, nothing escapes`, async () => {
    const rand = rng(SEED);
    const failures: string[] = [];
    const outcomes = new Map<number, number>();
    // Ten replays at a time, so waiting for one's close events overlaps the others' parsing.
    for (let it = 0; it < ITERATIONS && failures.length <= 5 && uncaught.length === 0; it += 10) {
      const batch = Array.from({ length: Math.min(10, ITERATIONS - it) }, (_, k) => ({
        n: it + k,
        ...mutate(rand),
      }));
      const runs = await Promise.all(batch.map((b) => runOnce(b.wire, rand, b.frames)));
      runs.forEach((run, k) => {
        const { n, what } = batch[k]!;
        if (run.done !== CALLS.length)
          failures.push(`iteration ${n} (${what.join(' ')}): ${run.done}/${CALLS.length} calls ended`);
        for (const b of run.bad) failures.push(`iteration ${n} (${what.join(' ')}): ${b}`);
        for (const s of run.statuses) outcomes.set(s, (outcomes.get(s) ?? 0) + 1);
      });
    }
    expect(uncaught, `seed ${SEED}`).toEqual([]);
    expect(failures, `seed ${SEED}`).toEqual([]);
    // The mutations reach both sides: plenty of calls still succeed, plenty fail.
    expect(outcomes.get(0) ?? 0).toBeGreaterThan(ITERATIONS);
    expect([...outcomes.keys()].filter((s) => s !== 0).length).toBeGreaterThan(2);
  }, 120_000);
});
