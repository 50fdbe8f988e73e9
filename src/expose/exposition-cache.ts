import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** One round's re-exposed block as bytes, plain and gzipped; always swapped in as a pair. */
export interface Exposition {
  readonly plain: Buffer;
  readonly gzipped: Buffer;
}

const EMPTY: Exposition = { plain: Buffer.alloc(0), gzipped: Buffer.alloc(0) };

/**
 * Holds the re-exposed members' series (≈5 MB for 30 members) as bytes, so a scrape neither copies
 * nor re-encodes them, plus a gzip form made once per round on the libuv thread pool (≈27× smaller;
 * Prometheus always asks for gzip). Scrapes keep getting the previous pair until the new one is whole.
 */
export class ExpositionCache {
  private current: Exposition = EMPTY;
  private generation = 0;

  /** Replaces the block; resolves once the new pair is served (or a newer update superseded it). */
  async update(text: string): Promise<void> {
    const generation = ++this.generation;
    const plain = Buffer.from(text, 'utf8');
    const gzipped = plain.length > 0 ? await gzipAsync(plain) : Buffer.alloc(0);
    if (generation === this.generation) this.current = { plain, gzipped };
  }

  /** The pair scrapes should serve now. */
  get(): Exposition {
    return this.current;
  }
}

/** True when an Accept-Encoding header allows gzip (`gzip` listed without q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (coding !== 'gzip') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * The /metrics body: the exporter's own series (rendered per scrape) followed by the cached block.
 * With gzip the body is two concatenated gzip members, which RFC 1952 allows and Go's gzip reader
 * (Prometheus) reads as one stream by default, so only the small own part is compressed per scrape.
 */
export async function metricsBody(
  own: string,
  exposition: Exposition,
  gzipWanted: boolean,
): Promise<{ chunks: Buffer[]; length: number; encoding?: 'gzip' }> {
  if (gzipWanted) {
    const head = await gzipAsync(Buffer.from(own, 'utf8'), { level: 1 });
    return {
      chunks: [head, exposition.gzipped],
      length: head.length + exposition.gzipped.length,
      encoding: 'gzip',
    };
  }
  const head = Buffer.from(own, 'utf8');
  return { chunks: [head, exposition.plain], length: head.length + exposition.plain.length };
}
