import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table.js';

// Minimal HPACK (RFC 7541) for the load generator's HTTP/2 gRPC client: a full decoder (the server's
// header blocks must be decoded to keep the connection's dynamic table in sync) and an encoder that
// only ever inserts the handful of request headers it sends, so it never has to track evictions.
// Bounds against a hostile peer: the dynamic table never exceeds the size our SETTINGS allowed (§4.2),
// a decoded header list never exceeds `maxListSize`, integers stop at 2^28 (§5.1).

/** RFC 7541 Appendix A, index 1..61. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ...[
    'accept-charset',
    'accept-encoding',
    'accept-language',
    'accept-ranges',
    'accept',
    'access-control-allow-origin',
    'age',
    'allow',
    'authorization',
    'cache-control',
    'content-disposition',
    'content-encoding',
    'content-language',
    'content-length',
    'content-location',
    'content-range',
    'content-type',
    'cookie',
    'date',
    'etag',
    'expect',
    'expires',
    'from',
    'host',
    'if-match',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'last-modified',
    'link',
    'location',
    'max-forwards',
    'proxy-authenticate',
    'proxy-authorization',
    'range',
    'referer',
    'refresh',
    'retry-after',
    'server',
    'set-cookie',
    'strict-transport-security',
    'transfer-encoding',
    'user-agent',
    'vary',
    'via',
    'www-authenticate',
  ].map((n) => [n, n === 'accept-encoding' ? 'gzip, deflate' : ''] as const),
];

/** Static-table index of `:method: POST`, `:scheme: http` and `:scheme: https`. */
export const STATIC_METHOD_POST = 3;
export const STATIC_SCHEME_HTTP = 6;
export const STATIC_SCHEME_HTTPS = 7;

export class HpackError extends Error {}

// Huffman decoding tree flattened into an array: node*2 (+1 for a 1 bit) → child node, or ~symbol for a leaf.
const TREE = buildTree();

function buildTree(): Int32Array {
  const tree = new Int32Array(2 * 512).fill(0);
  let nodes = 1;
  for (let sym = 0; sym < 256; sym++) {
    const code = HUFFMAN_CODES[sym] ?? 0;
    const len = HUFFMAN_LENGTHS[sym] ?? 0;
    let node = 0;
    for (let b = len - 1; b >= 0; b--) {
      const slot = node * 2 + ((code >>> b) & 1);
      if (b === 0) tree[slot] = ~sym;
      else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot] ?? 0;
      }
    }
  }
  return tree;
}

function huffmanDecode(buf: Buffer, start: number, end: number): string {
  let out = '';
  let node = 0;
  let bitsSinceSymbol = 0;
  let onesSinceSymbol = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i] ?? 0;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >>> b) & 1;
      const next = TREE[node * 2 + bit] ?? 0;
      bitsSinceSymbol++;
      onesSinceSymbol += bit;
      if (next < 0) {
        out += String.fromCharCode(~next);
        node = 0;
        bitsSinceSymbol = 0;
        onesSinceSymbol = 0;
      } else if (next === 0) throw new HpackError('invalid Huffman code (or EOS)');
      else node = next;
    }
  }
  // §5.2: padding is the most significant bits of EOS (all ones), shorter than 8 bits.
  if (bitsSinceSymbol > 7) throw new HpackError('Huffman padding longer than 7 bits');
  if (onesSinceSymbol !== bitsSinceSymbol) throw new HpackError('Huffman padding not all ones');
  return out;
}

/**
 * Decodes header blocks of one connection. Only the two headers a gRPC client acts on are kept from the
 * last block (`grpc-status`, `grpc-message`); everything else just updates the dynamic table.
 */
export class HpackDecoder {
  private readonly dynamic: Array<[string, string]> = [];
  private dynamicSize = 0;
  private maxSize: number;
  /** SETTINGS_HEADER_TABLE_SIZE we sent: a table-size update above it is a decoding error (§6.3). */
  private readonly settingsMax: number;
  private readonly maxListSize: number;
  private listSize = 0;
  private pos = 0;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  httpStatus: string | undefined;
  /** Every header of the last block, only when constructed with `collect` (tests, diagnostics). */
  readonly headers: Array<[string, string]> = [];

  private readonly collect: boolean;

  /**
   * `maxTableSize` is what our SETTINGS allow (HTTP/2 default 4096); `maxListSize` caps one decoded
   * block (name + value + 32 per field, RFC 7540 §6.5.2's SETTINGS_MAX_HEADER_LIST_SIZE); `collect`
   * keeps every header.
   */
  constructor(opts: { collect?: boolean; maxTableSize?: number; maxListSize?: number } = {}) {
    this.collect = opts.collect ?? false;
    this.maxSize = opts.maxTableSize ?? 4096;
    this.settingsMax = this.maxSize;
    this.maxListSize = opts.maxListSize ?? 65_536;
  }

  decode(buf: Buffer, start: number, end: number): void {
    this.headers.length = 0;
    this.grpcStatus = undefined;
    this.grpcMessage = undefined;
    this.httpStatus = undefined;
    this.listSize = 0;
    this.pos = start;
    let fields = 0;
    while (this.pos < end) {
      const b = buf[this.pos] ?? 0;
      if (b & 0x80) {
        const entry = this.entry(this.integer(buf, end, 7));
        this.seen(entry[0], entry[1]);
      } else if (b & 0x40) {
        const nameIndex = this.integer(buf, end, 6);
        const name = nameIndex === 0 ? this.string(buf, end) : this.entry(nameIndex)[0];
        const value = this.string(buf, end);
        this.insert(name, value);
        this.seen(name, value);
      } else if (b & 0x20) {
        // §4.2: size updates come first in a block, and never above what our SETTINGS allowed.
        if (fields > 0) throw new HpackError('dynamic table size update after a header field');
        const size = this.integer(buf, end, 5);
        if (size > this.settingsMax)
          throw new HpackError(`dynamic table size update to ${size} above the ${this.settingsMax} allowed`);
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        const nameIndex = this.integer(buf, end, 4);
        const name = nameIndex === 0 ? this.string(buf, end) : this.entry(nameIndex)[0];
        this.seen(name, this.string(buf, end));
      }
      fields++;
    }
  }

  private seen(name: string, value: string): void {
    this.listSize += name.length + value.length + 32;
    if (this.listSize > this.maxListSize)
      throw new HpackError(`header list larger than ${this.maxListSize} bytes`);
    if (this.collect) this.headers.push([name, value]);
    if (name === 'grpc-status') this.grpcStatus = value;
    else if (name === 'grpc-message') this.grpcMessage = value;
    else if (name === ':status') this.httpStatus = value;
  }

  private entry(index: number): readonly [string, string] {
    const e =
      index <= STATIC_TABLE.length ? STATIC_TABLE[index - 1] : this.dynamic[index - STATIC_TABLE.length - 1];
    if (!e || index === 0) throw new HpackError(`header index ${index} out of range`);
    return e;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + 32;
    this.evict(size);
    if (size <= this.maxSize) {
      this.dynamic.unshift([name, value]);
      this.dynamicSize += size;
    }
  }

  private evict(incoming: number): void {
    while (this.dynamic.length > 0 && this.dynamicSize + incoming > this.maxSize) {
      const [n, v] = this.dynamic.pop() as [string, string];
      this.dynamicSize -= n.length + v.length + 32;
    }
  }

  private integer(buf: Buffer, end: number, prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = (buf[this.pos++] ?? 0) & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new HpackError('truncated integer');
      const b = buf[this.pos++] ?? 0;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return value;
      if (shift > 28) throw new HpackError('integer too large');
    }
  }

  private string(buf: Buffer, end: number): string {
    const huffman = ((buf[this.pos] ?? 0) & 0x80) !== 0;
    const len = this.integer(buf, end, 7);
    const s = this.pos;
    this.pos += len;
    if (this.pos > end) throw new HpackError('truncated string');
    return huffman ? huffmanDecode(buf, s, s + len) : buf.toString('latin1', s, s + len);
  }
}

/** Encodes an HPACK integer with the given prefix bits and first-byte flags. */
export function encodeInteger(value: number, prefixBits: number, flags: number): number[] {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return [flags | value];
  const out = [flags | mask];
  let rest = value - mask;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** A literal header field with a literal name (§6.2): `firstByte` selects the representation, 4/7-bit prefix 0. */
function encodeLiteral(firstByte: number, name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([
    Buffer.from([firstByte]),
    Buffer.from(encodeInteger(n.length, 7, 0)),
    n,
    Buffer.from(encodeInteger(v.length, 7, 0)),
    v,
  ]);
}

/** Literal header with incremental indexing and a literal (non-Huffman) name and value. */
export function encodeLiteralIndexed(name: string, value: string): Buffer {
  return encodeLiteral(0x40, name, value);
}

/**
 * Literal header field never indexed (§6.2.3, literal name): the value never enters either side's
 * dynamic table and intermediaries must not index it either, which §7.1.3 asks for credentials.
 */
export function encodeLiteralNeverIndexed(name: string, value: string): Buffer {
  return encodeLiteral(0x10, name, value);
}

/** Literal header field without indexing (§6.2.2, literal name). */
export function encodeLiteralNotIndexed(name: string, value: string): Buffer {
  return encodeLiteral(0x00, name, value);
}

/**
 * Headers that carry credentials: etcd's gRPC auth metadata is `token`, HTTP's is `authorization`.
 * RFC 7541 §7.1.3: an indexed secret can be guessed by probing the compression (CRIME-style).
 */
const SENSITIVE = new Set(['authorization', 'proxy-authorization', 'token', 'cookie']);

/**
 * Request-side table: remembers the order of the entries this encoder inserted, so a header already sent
 * can be referenced by index. Inserts stay far below the 4 KiB default, so nothing is ever evicted.
 * When the server allows a smaller table than we use (its SETTINGS_HEADER_TABLE_SIZE), `shrink` empties
 * ours with a size update (§4.2, §6.3) and every later field is sent without indexing.
 */
export class HpackEncoderTable {
  private readonly inserted: string[] = [];
  private size = 0;
  private budget = 2048;
  private pendingSizeUpdate: number | undefined;
  /** Bumped on every change that invalidates cached blocks (insert, shrink). */
  private generation = 0;

  /** Changes whenever indexes shift or a cached block becomes invalid. */
  get entries(): number {
    return this.generation;
  }

  /** The peer's decoder allows less than we use: drop our entries and stop indexing. */
  shrink(): void {
    if (this.size === 0 && this.budget === 0) return;
    this.inserted.length = 0;
    this.size = 0;
    this.budget = 0;
    this.pendingSizeUpdate = 0;
    this.generation++;
  }

  /** Bytes that must open the next header block (a pending dynamic table size update), once. */
  takePrefix(): Buffer | undefined {
    const update = this.pendingSizeUpdate;
    if (update === undefined) return undefined;
    this.pendingSizeUpdate = undefined;
    return Buffer.from(encodeInteger(update, 5, 0x20));
  }

  /** Returns the bytes for `name: value`: an index when already inserted, else a literal that inserts it. */
  field(name: string, value: string): Buffer {
    if (SENSITIVE.has(name)) return encodeLiteralNeverIndexed(name, value);
    const key = `${name}\u0000${value}`;
    const at = this.inserted.indexOf(key);
    if (at >= 0) return Buffer.from(encodeInteger(STATIC_TABLE.length + this.inserted.length - at, 7, 0x80));
    const entrySize = name.length + value.length + 32;
    if (this.size + entrySize > this.budget) return encodeLiteralNotIndexed(name, value);
    this.inserted.push(key);
    this.size += entrySize;
    this.generation++;
    return encodeLiteralIndexed(name, value);
  }
}
