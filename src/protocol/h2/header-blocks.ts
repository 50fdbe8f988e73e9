import { HpackEncoderTable, STATIC_METHOD_POST } from './hpack.js';

/**
 * The request header blocks of one connection (RFC 7540 §8.1.2, gRPC over HTTP/2): one per registered
 * method, HPACK-encoded once and reused for every call while the encoder's dynamic table stays as it was.
 */
export class RequestHeaders {
  private readonly encoder = new HpackEncoderTable();
  private readonly paths: string[] = [];
  /** Cached header block per method; rebuilt when the encoder table changes. */
  private readonly blocks: Array<Buffer | undefined> = [];
  private blocksGeneration = 0;

  constructor(
    /** STATIC_SCHEME_HTTP or STATIC_SCHEME_HTTPS (the HPACK static table index of `:scheme`). */
    private readonly scheme: number,
    private readonly authority: string,
    private readonly extraHeaders: Readonly<Record<string, string>>,
  ) {}

  /** Registers a gRPC method path (e.g. `/etcdserverpb.KV/Put`) and returns its id. */
  method(path: string): number {
    const at = this.paths.indexOf(path);
    if (at >= 0) return at;
    this.paths.push(path);
    return this.paths.length - 1;
  }

  /** The header block of a call to method `method`. */
  blockFor(method: number): Buffer {
    if (this.blocksGeneration !== this.encoder.entries) {
      this.blocks.length = 0;
      this.blocksGeneration = this.encoder.entries;
    }
    return this.blocks[method] ?? this.buildBlock(method);
  }

  /** The server allows a smaller HPACK table than the default 4096 bytes (SETTINGS_HEADER_TABLE_SIZE). */
  shrink(): void {
    this.encoder.shrink();
  }

  private buildBlock(method: number): Buffer {
    const path = this.paths[method] ?? '/';
    const prefix = this.encoder.takePrefix();
    const block = Buffer.concat([
      ...(prefix ? [prefix] : []),
      Buffer.from([0x80 | STATIC_METHOD_POST, 0x80 | this.scheme]),
      this.encoder.field(':path', path),
      this.encoder.field(':authority', this.authority),
      this.encoder.field('content-type', 'application/grpc'),
      this.encoder.field('te', 'trailers'),
      ...Object.entries(this.extraHeaders).map(([name, value]) => this.encoder.field(name, value)),
    ]);
    // A block that inserted entries (or carried a size update) is single-use: the next call sends
    // indexes, and inserting shifts every dynamic index, so all cached blocks are dropped.
    if (this.encoder.entries === this.blocksGeneration && !prefix) this.blocks[method] = block;
    return block;
  }
}
