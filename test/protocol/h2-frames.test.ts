import { describe, expect, it } from 'vitest';
import { checkFrameHeader } from '../../src/protocol/h2/frames.js';

// RFC 7540 §4.2 and §6: what each frame type's header may say, checked before its payload is read.
describe('checkFrameHeader', () => {
  it.each([
    // type, flags, stream id, length, first payload byte, expected h2 code (undefined = accepted)
    ['DATA', 0, 0, 1, 10, 0, undefined],
    ['DATA, length MAX_FRAME_SIZE', 0, 0, 1, 16_384, 0, undefined],
    ['DATA, length MAX_FRAME_SIZE + 1', 0, 0, 1, 16_385, 0, 0x6],
    ['DATA on stream 0', 0, 0, 0, 10, 0, 0x1],
    ['DATA padded, pad 9 of 10', 0, 0x8, 1, 10, 9, undefined],
    ['DATA padded, pad 10 of 10', 0, 0x8, 1, 10, 10, 0x1],
    ['DATA padded, empty', 0, 0x8, 1, 0, 0, 0x6],
    ['HEADERS priority, 5 bytes', 1, 0x20, 1, 5, 0, undefined],
    ['HEADERS priority, 4 bytes', 1, 0x20, 1, 4, 0, 0x6],
    ['HEADERS padded+priority, pad over the rest', 1, 0x28, 1, 8, 3, 0x1],
    ['PRIORITY 5 bytes', 2, 0, 1, 5, 0, undefined],
    ['PRIORITY 6 bytes', 2, 0, 1, 6, 0, 0x6],
    ['RST_STREAM 4 bytes', 3, 0, 1, 4, 0, undefined],
    ['RST_STREAM on stream 0', 3, 0, 0, 4, 0, 0x1],
    ['RST_STREAM 3 bytes', 3, 0, 1, 3, 0, 0x6],
    ['SETTINGS 12 bytes', 4, 0, 0, 12, 0, undefined],
    ['SETTINGS 7 bytes', 4, 0, 0, 7, 0, 0x6],
    ['SETTINGS on stream 1', 4, 0, 1, 6, 0, 0x1],
    ['SETTINGS ACK, 0 bytes', 4, 0x1, 0, 0, 0, undefined],
    ['SETTINGS ACK, 6 bytes', 4, 0x1, 0, 6, 0, 0x6],
    ['PUSH_PROMISE', 5, 0x4, 1, 4, 0, 0x1],
    ['PING 8 bytes', 6, 0, 0, 8, 0, undefined],
    ['PING 7 bytes', 6, 0, 0, 7, 0, 0x6],
    ['PING on stream 1', 6, 0, 1, 8, 0, 0x1],
    ['GOAWAY 8 bytes', 7, 0, 0, 8, 0, undefined],
    ['GOAWAY 8 bytes + debug data', 7, 0, 0, 40, 0, undefined],
    ['GOAWAY 4 bytes (the issue crash)', 7, 0, 0, 4, 0, 0x6],
    ['WINDOW_UPDATE 4 bytes', 8, 0, 0, 4, 0, undefined],
    ['WINDOW_UPDATE 2 bytes (the issue crash)', 8, 0, 0, 2, 0, 0x6],
    ['CONTINUATION', 9, 0x4, 1, 100, 0, undefined],
    ['CONTINUATION on stream 0', 9, 0x4, 0, 100, 0, 0x1],
    ['unknown type 0x42', 0x42, 0xff, 0, 100, 0, undefined],
    ['unknown type, oversized', 0x42, 0, 0, 1 << 20, 0, 0x6],
  ])('%s', (_name, type, flags, id, len, first, expected) => {
    expect(checkFrameHeader(type, flags, id, len, first)?.h2Code).toBe(expected);
  });
});
