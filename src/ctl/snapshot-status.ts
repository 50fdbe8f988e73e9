// `ctl snapshot status FILE`: what `etcdctl snapshot status` (etcdutl in 3.5) reports — hash, revision,
// total keys, total size — read with our own bounded reader of the bbolt file format
// (go.etcd.io/bbolt: page.go, node.go, db.go meta), plus the SHA-256 trailer `snapshot save` appends.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CtlError } from './errors.js';

export interface SnapshotStatus {
  readonly path: string;
  /** etcdctl's "hash": CRC-32C over every bucket name, key and value, in order. */
  readonly hash: number;
  /** The newest revision in the "key" bucket. */
  readonly revision: number;
  /** Key-value pairs over all buckets (etcdctl's "total keys", not only user keys). */
  readonly totalKeys: number;
  /** Size of the bbolt database: high-water page count × page size (etcdctl's "total size"). */
  readonly totalSize: number;
  readonly fileSize: number;
  /** 'verified': the 32-byte SHA-256 trailer etcd appends to a snapshot matches; 'absent': a plain db file. */
  readonly sha256: 'verified' | 'absent';
}

const MAGIC = 0xed0cdaed;
const PAGE_HEADER = 16;
const ELEMENT = 16;
const BRANCH = 0x01;
const LEAF = 0x02;
const BUCKET_LEAF = 0x01;
/** Deeper than any real B+tree of 2^64 pages; a cycle in a corrupt file stops here. */
const MAX_DEPTH = 64;

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

class Crc32c {
  private crc = 0xffffffff;
  update(b: Uint8Array): void {
    let c = this.crc;
    for (const byte of b) c = (CRC32C_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
    this.crc = c;
  }
  digest(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }
}

/** FNV-1a 64, bbolt's meta page checksum. */
function fnv1a64(b: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const byte of b) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

interface Meta {
  readonly pageSize: number;
  readonly root: bigint;
  readonly highWater: bigint;
  readonly txid: bigint;
}

class Corrupt extends Error {}

function parseMeta(page: Buffer): Meta | undefined {
  const m = page.subarray(PAGE_HEADER, PAGE_HEADER + 64);
  if (m.length < 64 || m.readUInt32LE(0) !== MAGIC || m.readUInt32LE(4) !== 2) return undefined;
  if (fnv1a64(m.subarray(0, 56)) !== m.readBigUInt64LE(56)) return undefined;
  return {
    pageSize: m.readUInt32LE(8),
    root: m.readBigUInt64LE(16),
    highWater: m.readBigUInt64LE(40),
    txid: m.readBigUInt64LE(48),
  };
}

/** Reads the status of a snapshot or db file; a truncated or malformed file is VERIFY_FAILED (exit 6). */
export function snapshotStatus(file: string): SnapshotStatus {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new CtlError(
      'USAGE',
      `snapshot status: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  try {
    return readStatus(fd, file);
  } catch (err) {
    if (err instanceof Corrupt) {
      throw new CtlError(
        'VERIFY_FAILED',
        `snapshot status ${file}: not a valid etcd snapshot: ${err.message}`,
      );
    }
    throw err;
  } finally {
    closeSync(fd);
  }
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, offset);
  if (n !== length)
    throw new Corrupt(`truncated: wanted ${length} bytes at offset ${offset}, file has fewer`);
  return buf;
}

function readStatus(fd: number, file: string): SnapshotStatus {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 2 * 1024) throw new Corrupt(`only ${fileSize} bytes`);
  const first = readAt(fd, 0, Math.min(fileSize, 4096));
  const m0 = parseMeta(first);
  // The second meta page sits one page in; its size comes from whichever meta is readable.
  const pageSize = m0?.pageSize ?? 4096;
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new Corrupt(`page size ${pageSize}`);
  }
  const m1 = fileSize >= 2 * pageSize ? parseMeta(readAt(fd, pageSize, pageSize)) : undefined;
  const meta = [m0, m1]
    .filter((m): m is Meta => m !== undefined && m.pageSize === pageSize)
    .sort((a, b) => (a.txid > b.txid ? -1 : 1))[0];
  if (!meta) throw new Corrupt('no meta page with a valid magic number and checksum');
  const totalSize = Number(meta.highWater) * pageSize;
  if (totalSize > fileSize)
    throw new Corrupt(`truncated: the database needs ${totalSize} bytes, the file has ${fileSize}`);

  const page = (id: bigint): Buffer => {
    if (id < 2n || id >= meta.highWater) throw new Corrupt(`page id ${id} outside 2..${meta.highWater - 1n}`);
    const head = readAt(fd, Number(id) * pageSize, PAGE_HEADER);
    // Every page records its own id: a zeroed or misplaced page does not.
    if (head.readBigUInt64LE(0) !== id) throw new Corrupt(`page ${id} does not carry its id`);
    const pages = head.readUInt32LE(12) + 1;
    if (id + BigInt(pages) > meta.highWater) throw new Corrupt(`page ${id} overflows the database`);
    return readAt(fd, Number(id) * pageSize, pages * pageSize);
  };

  /** Every (key, value, isBucket) of the B+tree in `p` (a page buffer), in key order. */
  function* elements(p: Buffer, depth: number): Generator<[Buffer, Buffer, boolean]> {
    if (depth > MAX_DEPTH) throw new Corrupt('B+tree deeper than 64 levels (a cycle)');
    const flags = p.readUInt16LE(8);
    const count = p.readUInt16LE(10);
    if (PAGE_HEADER + count * ELEMENT > p.length) throw new Corrupt(`page with ${count} elements overflows`);
    if (!(flags & (BRANCH | LEAF))) throw new Corrupt(`page of type 0x${flags.toString(16)} inside a bucket`);
    for (let i = 0; i < count; i++) {
      const at = PAGE_HEADER + i * ELEMENT;
      if (flags & BRANCH) {
        yield* elements(page(p.readBigUInt64LE(at + 8)), depth + 1);
      } else if (flags & LEAF) {
        const start = at + p.readUInt32LE(at + 4);
        const ksize = p.readUInt32LE(at + 8);
        const vsize = p.readUInt32LE(at + 12);
        if (start + ksize + vsize > p.length) throw new Corrupt('an element reaches past its page');
        yield [
          p.subarray(start, start + ksize),
          p.subarray(start + ksize, start + ksize + vsize),
          (p.readUInt32LE(at) & BUCKET_LEAF) !== 0,
        ];
      } else {
        throw new Corrupt(`page of type 0x${flags.toString(16)} inside a bucket`);
      }
    }
  }

  /** A bucket's tree: its root page, or the page inlined in its value when the root is 0. */
  const bucketTree = (value: Buffer): Buffer => {
    if (value.length < 16) throw new Corrupt('bucket header shorter than 16 bytes');
    const root = value.readBigUInt64LE(0);
    if (root !== 0n) return page(root);
    const inline = value.subarray(16);
    if (inline.length < PAGE_HEADER) throw new Corrupt('inline bucket shorter than a page header');
    return inline;
  };

  const crc = new Crc32c();
  let revision = 0;
  let totalKeys = 0;
  for (const [name, value, isBucket] of elements(page(meta.root), 0)) {
    if (!isBucket)
      throw new Corrupt(`top-level key ${JSON.stringify(name.toString('latin1'))} is not a bucket`);
    crc.update(name);
    const isKeyBucket = name.toString('latin1') === 'key';
    for (const [k, v, nested] of elements(bucketTree(value), 1)) {
      crc.update(k);
      if (!nested) crc.update(v);
      // Keys of the "key" bucket are revisions: 8-byte big-endian main, '_', 8-byte sub; the last is the newest.
      if (isKeyBucket && k.length >= 8) revision = Number(k.readBigUInt64BE(0));
      totalKeys++;
    }
  }

  let sha256: SnapshotStatus['sha256'] = 'absent';
  if (fileSize === totalSize + 32) {
    const h = createHash('sha256');
    const chunk = 1 << 20;
    for (let off = 0; off < totalSize; off += chunk)
      h.update(readAt(fd, off, Math.min(chunk, totalSize - off)));
    if (!h.digest().equals(readAt(fd, totalSize, 32))) {
      throw new Corrupt('the SHA-256 trailer does not match the data (the file was modified or damaged)');
    }
    sha256 = 'verified';
  }
  return { path: file, hash: crc.digest(), revision, totalKeys, totalSize, fileSize, sha256 };
}
