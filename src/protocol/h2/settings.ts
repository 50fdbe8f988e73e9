import { MAX_HEADER_BLOCK } from './reader.js';
import type { RequestHeaders } from './header-blocks.js';
import {
  H2_FLOW_CONTROL_ERROR,
  H2_PROTOCOL_ERROR,
  PREFACE,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  settingsFrame,
  windowUpdateFrame,
} from './frames.js';

/** Our SETTINGS_INITIAL_WINDOW_SIZE: 16 MiB per stream (RFC 7540 §6.9.2). */
export const STREAM_WINDOW = 1 << 24;
/** The connection window we open right after the preface (RFC 7540 §6.9.1 maximum). */
export const CONN_WINDOW = 2 ** 31 - 1;

/**
 * What the client sends first (RFC 7540 §3.5): the preface, our SETTINGS, and a WINDOW_UPDATE that opens
 * the connection window from the default 65,535 bytes to CONN_WINDOW.
 */
export function clientPreface(): Buffer {
  const settings = settingsFrame([
    [SETTINGS_ENABLE_PUSH, 0],
    [SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW],
    [SETTINGS_MAX_CONCURRENT_STREAMS, 0], // server-initiated streams; none wanted
    [SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BLOCK],
  ]);
  return Buffer.concat([PREFACE, settings, windowUpdateFrame(0, CONN_WINDOW - 65_535)]);
}

/** A setting the server sent outside its range: the connection ends with GOAWAY `h2Code`. */
export interface SettingsFault {
  readonly h2Code: number;
  readonly detail: string;
}

/** What the server's SETTINGS allow us; RFC 7540 §6.5.2 initial values until it sends its own. */
export class PeerSettings {
  /** SETTINGS_INITIAL_WINDOW_SIZE: each new stream's send window. */
  streamSendWindow = 65_535;
  maxFrameSize = 16_384;
  maxConcurrent = Infinity;

  /** Applies one SETTINGS payload (6-byte entries, length checked by the reader). */
  apply(buf: Buffer, start: number, end: number, headers: RequestHeaders): SettingsFault | undefined {
    for (let p = start; p + 6 <= end; p += 6) {
      const key = buf.readUInt16BE(p);
      const value = buf.readUInt32BE(p + 2);
      // RFC 7540 §6.5.2 value ranges.
      if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > CONN_WINDOW)
          return { h2Code: H2_FLOW_CONTROL_ERROR, detail: `INITIAL_WINDOW_SIZE ${value}` };
        this.streamSendWindow = value;
      } else if (key === SETTINGS_MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215)
          return { h2Code: H2_PROTOCOL_ERROR, detail: `MAX_FRAME_SIZE ${value} outside 16384..16777215` };
        this.maxFrameSize = value;
      } else if (key === SETTINGS_MAX_CONCURRENT_STREAMS) {
        this.maxConcurrent = value;
      } else if (key === SETTINGS_ENABLE_PUSH) {
        if (value > 1) return { h2Code: H2_PROTOCOL_ERROR, detail: `ENABLE_PUSH ${value}` };
      } else if (key === SETTINGS_HEADER_TABLE_SIZE && value < 4096) {
        headers.shrink();
      }
    }
    return undefined;
  }
}
