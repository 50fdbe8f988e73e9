import type net from 'node:net';
import type { H2Call } from './call.js';
import {
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FRAME_DATA,
  FRAME_HEADERS,
  writeFrameHeader as header,
} from './frames.js';

const SLAB_SIZE = 256 * 1024;
/** A server that does not read our writes (PING/SETTINGS ACK floods) is dropped past this backlog. */
const MAX_WRITE_BACKLOG = 64 * 1024 * 1024;

/**
 * Everything a connection sends, gathered in one buffer: a call is one memcpy of its HEADERS + DATA
 * frames into the slab, and all frames written in one event-loop turn leave in a single socket write
 * (flushed on the next tick).
 */
export class WriteSlab {
  // Small at first (a connection that makes a few calls needs no 256 KiB); full-size from the first refill.
  private slab = Buffer.allocUnsafe(16 * 1024);
  private slabStart = 0;
  private slabEnd = 0;
  private flushScheduled = false;
  /** Set once the connection gives its socket up: nothing more is written. */
  private stopped = false;
  private backlogged = false;
  private readonly flushBound = (): void => this.flush();

  constructor(
    private readonly socket: net.Socket,
    /** Called when the socket holds more than MAX_WRITE_BACKLOG unsent bytes (the server stopped reading). */
    private readonly onBacklog: (bytes: number) => void,
  ) {}

  /** Appends ready-made frames. */
  write(bytes: Buffer): void {
    if (this.stopped) return;
    if (this.slabEnd + bytes.length > this.slab.length) this.newSlab(bytes.length);
    bytes.copy(this.slab, this.slabEnd);
    this.slabEnd += bytes.length;
    this.scheduleFlush();
  }

  /**
   * Appends call `call` on stream `id`: HEADERS (`block`, END_HEADERS) then its gRPC message in DATA
   * frames of at most `maxFrameSize` bytes, the last with END_STREAM. The body is written by the call's
   * writer the first time and copied from the bytes kept then on a replay.
   */
  writeCall(id: number, block: Buffer, call: H2Call, maxFrameSize: number): void {
    const bodyLen = call.bodyLen;
    const total = 9 + block.length + 9 + 5 + bodyLen;
    if (this.slabEnd + total > this.slab.length) this.newSlab(total);
    const buf = this.slab;
    let o = this.slabEnd;
    header(buf, o, block.length, FRAME_HEADERS, FLAG_END_HEADERS, id);
    block.copy(buf, o + 9);
    o += 9 + block.length;
    if (5 + bodyLen <= maxFrameSize) {
      header(buf, o, 5 + bodyLen, FRAME_DATA, FLAG_END_STREAM, id);
      buf[o + 9] = 0;
      buf.writeUInt32BE(bodyLen, o + 10);
      if (call.src === null) {
        call.write(buf, o + 14);
        // Slabs are replaced, never reused, so these bytes stay valid for a replay.
        call.src = buf;
        call.srcOff = o + 14;
      } else call.src.copy(buf, o + 14, call.srcOff, call.srcOff + bodyLen);
      this.slabEnd = o + 14 + bodyLen;
    } else {
      this.slabEnd = o;
      this.writeSplit(id, call, maxFrameSize);
    }
    this.scheduleFlush();
  }

  /** A message larger than one frame (rare: big values) goes out as several DATA frames. */
  private writeSplit(id: number, call: H2Call, maxFrameSize: number): void {
    const payload = Buffer.allocUnsafe(5 + call.bodyLen);
    payload[0] = 0;
    payload.writeUInt32BE(call.bodyLen, 1);
    if (call.src === null) call.write(payload, 5);
    else call.src.copy(payload, 5, call.srcOff, call.srcOff + call.bodyLen);
    call.src = payload;
    call.srcOff = 5;
    for (let off = 0; off < payload.length; off += maxFrameSize) {
      const chunk = payload.subarray(off, Math.min(payload.length, off + maxFrameSize));
      const last = off + chunk.length >= payload.length;
      const frame = Buffer.allocUnsafe(9 + chunk.length);
      header(frame, 0, chunk.length, FRAME_DATA, last ? FLAG_END_STREAM : 0, id);
      chunk.copy(frame, 9);
      this.write(frame);
    }
  }

  /** Hands what was written since the last flush to the socket. */
  flush(): void {
    this.flushScheduled = false;
    if (this.slabEnd > this.slabStart && !this.socket.destroyed && !this.stopped) {
      this.socket.write(this.slab.subarray(this.slabStart, this.slabEnd));
      if (this.socket.writableLength > MAX_WRITE_BACKLOG) {
        this.slabStart = this.slabEnd;
        // Reported once: the handler ends the connection, and the GOAWAY it sends comes back through
        // here with the backlog still there (reporting it again recursed until the stack overflowed).
        if (!this.backlogged) {
          this.backlogged = true;
          this.onBacklog(this.socket.writableLength);
        }
        return;
      }
    }
    this.slabStart = this.slabEnd;
  }

  /** The connection gave its socket up: later writes are dropped. */
  stop(): void {
    this.stopped = true;
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushBound);
    }
  }

  private newSlab(min: number): void {
    this.flush();
    // Bytes already handed to the socket (or kept for a replay) may still be referenced, so a full
    // slab is replaced, never reused.
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, min));
    this.slabStart = 0;
    this.slabEnd = 0;
  }
}
