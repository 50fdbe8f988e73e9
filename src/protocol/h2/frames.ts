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

/** The largest frame we accept: we never raise SETTINGS_MAX_FRAME_SIZE above its default (RFC 7540 §6.5.2). */
export const MAX_FRAME_SIZE = 16_384;

/** What is wrong with a frame's header: the RFC 7540 §7 code to send in GOAWAY and why. */
export interface FrameFault {
  readonly h2Code: number;
  readonly detail: string;
}

const fault = (h2Code: number, detail: string): FrameFault => ({ h2Code, detail });

/**
 * Checks one received frame header against RFC 7540: the length against MAX_FRAME_SIZE (§4.2) and
 * against its type's fixed or minimum size (§6.1–§6.10), and the stream id against where the type may
 * appear (0 for connection frames). `firstByte` is the payload's first byte (the pad length of a PADDED
 * frame), or 0 when the payload is empty. Returns undefined when the header is acceptable.
 */
export function checkFrameHeader(
  type: number,
  flags: number,
  id: number,
  len: number,
  firstByte: number,
): FrameFault | undefined {
  if (len > MAX_FRAME_SIZE)
    return fault(
      H2_FRAME_SIZE_ERROR,
      `frame type ${type} of ${len} bytes exceeds MAX_FRAME_SIZE ${MAX_FRAME_SIZE}`,
    );
  switch (type) {
    case FRAME_DATA:
    case FRAME_HEADERS: {
      if (id === 0) return fault(H2_PROTOCOL_ERROR, `${frameName(type)} on stream 0`);
      const fixed = type === FRAME_HEADERS && flags & FLAG_PRIORITY ? 5 : 0;
      const padded = (flags & FLAG_PADDED) !== 0;
      // §6.1/§6.2: a PADDED frame needs its pad-length byte, and padding no longer than the rest.
      if (len < fixed + (padded ? 1 : 0))
        return fault(H2_FRAME_SIZE_ERROR, `${frameName(type)} of ${len} bytes too short for its flags`);
      if (padded && firstByte > len - 1 - fixed)
        return fault(H2_PROTOCOL_ERROR, `${frameName(type)} padding ${firstByte} exceeds its payload`);
      return undefined;
    }
    case FRAME_PRIORITY:
      if (id === 0) return fault(H2_PROTOCOL_ERROR, 'PRIORITY on stream 0');
      return len === 5 ? undefined : fault(H2_FRAME_SIZE_ERROR, `PRIORITY of ${len} bytes (must be 5)`);
    case FRAME_RST_STREAM:
      if (id === 0) return fault(H2_PROTOCOL_ERROR, 'RST_STREAM on stream 0');
      return len === 4 ? undefined : fault(H2_FRAME_SIZE_ERROR, `RST_STREAM of ${len} bytes (must be 4)`);
    case FRAME_SETTINGS:
      if (id !== 0) return fault(H2_PROTOCOL_ERROR, `SETTINGS on stream ${id}`);
      if (flags & FLAG_ACK && len !== 0) return fault(H2_FRAME_SIZE_ERROR, `SETTINGS ACK of ${len} bytes`);
      return len % 6 === 0
        ? undefined
        : fault(H2_FRAME_SIZE_ERROR, `SETTINGS of ${len} bytes (not a multiple of 6)`);
    case FRAME_PUSH_PROMISE:
      // §6.6: we sent SETTINGS_ENABLE_PUSH 0, so any PUSH_PROMISE is a connection error.
      return fault(H2_PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
    case FRAME_PING:
      if (id !== 0) return fault(H2_PROTOCOL_ERROR, `PING on stream ${id}`);
      return len === 8 ? undefined : fault(H2_FRAME_SIZE_ERROR, `PING of ${len} bytes (must be 8)`);
    case FRAME_GOAWAY:
      if (id !== 0) return fault(H2_PROTOCOL_ERROR, `GOAWAY on stream ${id}`);
      return len >= 8 ? undefined : fault(H2_FRAME_SIZE_ERROR, `GOAWAY of ${len} bytes (at least 8)`);
    case FRAME_WINDOW_UPDATE:
      return len === 4 ? undefined : fault(H2_FRAME_SIZE_ERROR, `WINDOW_UPDATE of ${len} bytes (must be 4)`);
    case FRAME_CONTINUATION:
      return id === 0 ? fault(H2_PROTOCOL_ERROR, 'CONTINUATION on stream 0') : undefined;
    default:
      return undefined; // §4.1: unknown frame types are ignored
  }
}

const NAMES = [
  'DATA',
  'HEADERS',
  'PRIORITY',
  'RST_STREAM',
  'SETTINGS',
  'PUSH_PROMISE',
  'PING',
  'GOAWAY',
  'WINDOW_UPDATE',
  'CONTINUATION',
];

export function frameName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}

const ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** RFC 7540 §7 name of an error code (unknown codes by number, §7: "MUST NOT trigger special behavior"). */
export function h2ErrorName(code: number): string {
  return ERROR_NAMES[code] ?? `error code ${code}`;
}
