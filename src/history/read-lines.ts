import { open } from 'node:fs/promises';

/** One stored event is a few KB; a "line" past this is damage (or a hostile file), not an event. */
export const MAX_LINE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

export interface ReadLinesResult {
  /** Lines seen, the torn tail included. */
  readonly lines: number;
  /** Bytes up to and including the last newline: where the next append must start. */
  readonly completeBytes: number;
  /** The file did not end with a newline: its last line was cut short (a crash or a full disk mid-write). */
  readonly tornTail: boolean;
}

/**
 * Calls `onLine` for every newline-terminated line of `file`, in order, with `undefined` for a line longer
 * than MAX_LINE_BYTES (its bytes are not kept). Reads in chunks, so memory stays bounded whatever the file's
 * size. A missing file is an empty one.
 */
export async function readJsonLines(
  file: string,
  onLine: (text: string | undefined, lineNo: number) => void,
): Promise<ReadLinesResult> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { lines: 0, completeBytes: 0, tornTail: false };
    throw err;
  }
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let parts: Buffer[] = [];
    let partBytes = 0;
    let oversized = false;
    let lines = 0;
    let position = 0;
    let completeBytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const end = nl < 0 || nl >= bytesRead ? bytesRead : nl;
        if (!oversized) {
          partBytes += end - start;
          if (partBytes > MAX_LINE_BYTES) {
            oversized = true;
            parts = [];
          } else parts.push(Buffer.from(chunk.subarray(start, end)));
        }
        if (end === bytesRead) break;
        lines++;
        onLine(oversized ? undefined : Buffer.concat(parts).toString('utf8'), lines);
        parts = [];
        partBytes = 0;
        oversized = false;
        completeBytes = position + end + 1;
        start = end + 1;
      }
      position += bytesRead;
    }
    const tornTail = partBytes > 0;
    return { lines: lines + (tornTail ? 1 : 0), completeBytes, tornTail };
  } finally {
    await handle.close();
  }
}
