import {
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_CONTINUATION,
  FRAME_HEADERS,
  FRAME_SETTINGS,
  H2_ENHANCE_YOUR_CALM,
  H2_PROTOCOL_ERROR,
  checkFrameHeader,
  frameName,
} from './frames.js';

/** Compressed header block (HEADERS + CONTINUATION) cap; etcd sends ≈100 bytes. */
export const MAX_HEADER_BLOCK = 64 * 1024;
const MAX_HEADER_FRAMES = 64;

/** Where the reader delivers what it read. */
export interface FrameSink {
  /** Any frame but HEADERS/CONTINUATION, header checked (frames.ts), payload complete. */
  frame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void;
  /** A complete header block (padding and priority removed, CONTINUATIONs joined). */
  headerBlock(id: number, endStream: boolean, buf: Buffer, start: number, end: number): void;
  /** A protocol violation: the connection must end with GOAWAY `h2Code`. */
  fault(h2Code: number, detail: string): void;
  /** True once the connection is given up; reading stops. */
  readonly stopped: boolean;
}

/**
 * Splits the server's byte stream into frames (RFC 7540 §4.1) and header blocks (§6.2, §6.10): every
 * frame header is checked before its payload is waited for, so a hostile length never makes us buffer
 * more than MAX_FRAME_SIZE; the first frame must be SETTINGS (§3.5); a header block is contiguous and at
 * most MAX_HEADER_BLOCK bytes in MAX_HEADER_FRAMES frames (the CONTINUATION flood).
 */
export class FrameReader {
  /** Bytes of an incomplete frame: kept as parts until `pendingNeed` bytes are there, then joined once. */
  private pending: Buffer[] | null = null;
  private pendingLen = 0;
  private pendingNeed = 0;
  private sawSettings = false;
  private continuation: { id: number; endStream: boolean; parts: Buffer[]; size: number } | null = null;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      // Joining on every read would copy a frame dribbled in 1-byte reads O(n²) times.
      this.pending.push(chunk);
      this.pendingLen += chunk.length;
      if (this.pendingLen < this.pendingNeed) return;
      buf = Buffer.concat(this.pending, this.pendingLen);
      this.pending = null;
    }
    let off = 0;
    const n = buf.length;
    while (n - off >= 9) {
      const len = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const id = buf.readUInt32BE(off + 5) & 0x7fffffff;
      const fault = checkFrameHeader(type, flags, id, len, n - off > 9 ? buf[off + 9]! : 0);
      if (fault !== undefined) return this.sink.fault(fault.h2Code, fault.detail);
      if (n - off - 9 < len) break;
      const start = off + 9;
      this.dispatch(type, flags, id, buf, start, start + len);
      off = start + len;
      if (this.sink.stopped) return;
    }
    if (off < n) {
      this.pending = [buf.subarray(off)];
      this.pendingLen = n - off;
      // The header was checked above, so the length is at most MAX_FRAME_SIZE.
      this.pendingNeed = n - off >= 9 ? 9 + ((buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!) : 9;
    }
  }

  /** Drops buffered bytes (the connection is gone). */
  clear(): void {
    this.pending = null;
    this.continuation = null;
  }

  private dispatch(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (!this.sawSettings) {
      if (type !== FRAME_SETTINGS || flags & FLAG_ACK)
        return this.sink.fault(H2_PROTOCOL_ERROR, `${frameName(type)} before the server's SETTINGS`);
      this.sawSettings = true;
    }
    const c = this.continuation;
    if (c !== null) {
      if (type !== FRAME_CONTINUATION || c.id !== id)
        return this.sink.fault(
          H2_PROTOCOL_ERROR,
          `${frameName(type)} inside the header block of stream ${c.id}`,
        );
      c.size += end - start;
      if (c.size > MAX_HEADER_BLOCK || c.parts.length >= MAX_HEADER_FRAMES) {
        // The block cannot be skipped (HPACK state would diverge), so the connection goes.
        return this.sink.fault(
          H2_ENHANCE_YOUR_CALM,
          `header block over ${MAX_HEADER_BLOCK} bytes or ${MAX_HEADER_FRAMES} frames`,
        );
      }
      c.parts.push(Buffer.from(buf.subarray(start, end)));
      if (flags & FLAG_END_HEADERS) {
        this.continuation = null;
        const block = Buffer.concat(c.parts);
        this.sink.headerBlock(id, c.endStream, block, 0, block.length);
      }
      return;
    }
    if (type === FRAME_CONTINUATION)
      return this.sink.fault(H2_PROTOCOL_ERROR, 'CONTINUATION without a header block');
    if (type !== FRAME_HEADERS) return this.sink.frame(type, flags, id, buf, start, end);
    let s = start;
    let e = end;
    if (flags & FLAG_PADDED) {
      e -= buf[s]!;
      s += 1;
    }
    if (flags & FLAG_PRIORITY) s += 5;
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (flags & FLAG_END_HEADERS) return this.sink.headerBlock(id, endStream, buf, s, e);
    this.continuation = { id, endStream, parts: [Buffer.from(buf.subarray(s, e))], size: e - s };
  }
}
