// HTTP/2 frame layout (RFC 7540 §4.1): 24-bit length, 8-bit type, 8-bit flags, 31-bit stream id, then
// the payload. Types and flags are RFC 7540 §6; setting ids §6.5.2; error codes §7.

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_SIZE = 9;

export const FRAME_DATA = 0;
export const FRAME_HEADERS = 1;
export const FRAME_PRIORITY = 2;
export const FRAME_RST_STREAM = 3;
export const FRAME_SETTINGS = 4;
export const FRAME_PUSH_PROMISE = 5;
export const FRAME_PING = 6;
export const FRAME_GOAWAY = 7;
export const FRAME_WINDOW_UPDATE = 8;
export const FRAME_CONTINUATION = 9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
export const H2_INTERNAL_ERROR = 0x2;
export const H2_FLOW_CONTROL_ERROR = 0x3;
export const H2_SETTINGS_TIMEOUT = 0x4;
export const H2_STREAM_CLOSED = 0x5;
export const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_REFUSED_STREAM = 0x7;
export const H2_CANCEL = 0x8;
export const H2_COMPRESSION_ERROR = 0x9;
export const H2_CONNECT_ERROR = 0xa;
export const H2_ENHANCE_YOUR_CALM = 0xb;
export const H2_INADEQUATE_SECURITY = 0xc;
export const H2_HTTP_1_1_REQUIRED = 0xd;

/** Writes a 9-byte frame header at `o` (RFC 7540 §4.1). */
export function writeFrameHeader(
  buf: Buffer,
  o: number,
  len: number,
  type: number,
  flags: number,
  id: number,
): void {
  buf[o] = (len >>> 16) & 0xff;
  buf[o + 1] = (len >>> 8) & 0xff;
  buf[o + 2] = len & 0xff;
  buf[o + 3] = type;
  buf[o + 4] = flags;
  buf.writeUInt32BE(id, o + 5);
}

/** WINDOW_UPDATE (RFC 7540 §6.9). */
export function windowUpdateFrame(id: number, inc: number): Buffer {
  const b = Buffer.alloc(13);
  writeFrameHeader(b, 0, 4, FRAME_WINDOW_UPDATE, 0, id);
  b.writeUInt32BE(inc, 9);
  return b;
}

/** RST_STREAM (RFC 7540 §6.4). */
export function rstStreamFrame(id: number, code: number): Buffer {
  const b = Buffer.alloc(13);
  writeFrameHeader(b, 0, 4, FRAME_RST_STREAM, 0, id);
  b.writeUInt32BE(code, 9);
  return b;
}

/** GOAWAY (RFC 7540 §6.8) with the last stream id we processed and an error code. */
export function goawayFrame(lastStreamId: number, code: number): Buffer {
  const b = Buffer.alloc(17);
  writeFrameHeader(b, 0, 8, FRAME_GOAWAY, 0, 0);
  b.writeUInt32BE(lastStreamId, 9);
  b.writeUInt32BE(code, 13);
  return b;
}

/** An ACK of SETTINGS (empty) or PING (echoing the 8 opaque bytes), RFC 7540 §6.5.3 / §6.7. */
export function ackFrame(type: number, payload: Buffer | null): Buffer {
  const b = Buffer.alloc(9 + (payload?.length ?? 0));
  writeFrameHeader(b, 0, payload?.length ?? 0, type, FLAG_ACK, 0);
  payload?.copy(b, 9);
  return b;
}

/** SETTINGS (RFC 7540 §6.5) carrying `[id, value]` pairs. */
export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]>): Buffer {
  const b = Buffer.alloc(9 + 6 * pairs.length);
  writeFrameHeader(b, 0, 6 * pairs.length, FRAME_SETTINGS, 0, 0);
  pairs.forEach(([key, value], i) => {
    b.writeUInt16BE(key, 9 + 6 * i);
    b.writeUInt32BE(value, 11 + 6 * i);
  });
  return b;
}
