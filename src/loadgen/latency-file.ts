import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

// `bench --latency-file PATH`: every successful call's latency as the HDR histogram records it (whole
// microseconds, at least 1), one `<r|w> <µs>` line per call, for your own analysis — and the ground truth
// the distributed test compares the merged percentiles with (the histograms alone cannot show they lost
// nothing). Written from the latency batches (8,192 calls), never from the hot loop.

export interface LatencyFile {
  sink(op: 'read' | 'write', micros: Float64Array, count: number): void;
  close(): Promise<void>;
}

export async function openLatencyFile(path: string): Promise<LatencyFile> {
  const out = createWriteStream(path, { flags: 'w' });
  await once(out, 'open');
  let failed: Error | undefined;
  out.on('error', (err) => (failed = err));
  return {
    sink(op, micros, count) {
      const tag = op === 'read' ? 'r ' : 'w ';
      let text = '';
      for (let i = 0; i < count; i++) text += `${tag}${Math.max(1, Math.round(micros[i]!))}\n`;
      out.write(text);
    },
    async close() {
      out.end();
      await once(out, 'close');
      if (failed) throw failed;
    },
  };
}
