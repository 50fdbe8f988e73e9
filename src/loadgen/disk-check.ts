import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { build } from 'hdr-histogram-js';
import { MonitorError, describeError } from '../util/errors.js';

// etcd's disk recipe (fio --rw=write --ioengine=sync --fdatasync=1 --size=22m --bs=2300, linked from
// the etcd FAQ) in Node: sequential 2,300-byte writes into a preallocated file, each followed by
// fdatasync, timing the fdatasync. Preallocating matters: etcd writes into preallocated 64 MB WAL
// segments, and appending to a growing file costs about twice as much per sync (size metadata).
// Synchronous calls on purpose: fio's sync engine, and no thread-pool hop inside the measurement.

/** etcd's verdict: WAL fdatasync P99 must stay below 10 ms. */
export const DISK_P99_LIMIT_MS = 10;

export interface DiskCheckOptions {
  dir: string;
  totalBytes?: number;
  blockSize?: number;
  /**
   * Called at most every 250 ms with the syncs done so far. The loop is synchronous (fdatasyncSync), so
   * no timer can fire while it runs; one clock read per fdatasync (which takes ~0.1–10 ms) costs nothing.
   */
  onProgress?: (syncs: number, expected: number, elapsedMs: number) => void;
}

export interface DiskCheckResult {
  dir: string;
  syncs: number;
  blockSize: number;
  totalBytes: number;
  durationSeconds: number;
  fdatasync: { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number; avgMs: number };
  /** Syncs per second the disk sustained (fio's IOPS for this job). */
  syncsPerSecond: number;
  passed: boolean;
  verdict: string;
}

/** Runs the fdatasync test in `dir` (created if missing; the test file is removed afterwards). */
export function runDiskCheck(opts: DiskCheckOptions): DiskCheckResult {
  const totalBytes = opts.totalBytes ?? 22 * 1024 * 1024;
  const blockSize = opts.blockSize ?? 2300;
  if (!(blockSize > 0) || !(totalBytes >= blockSize))
    throw new MonitorError('DISK_CHECK_INVALID', 'size must be at least one block');
  const file = path.join(opts.dir, `.etcd-monitor-disk-check-${process.pid}-${Date.now()}`);
  const hist = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let fd: number | undefined;
  const start = performance.now();
  let syncs = 0;
  try {
    mkdirSync(opts.dir, { recursive: true });
    fd = openSync(file, 'w+');
    // Preallocate with real blocks (Node has no fallocate) and make the allocation durable first.
    const zeros = Buffer.alloc(1024 * 1024);
    for (let off = 0; off < totalBytes; off += zeros.length)
      writeSync(fd, zeros, 0, Math.min(zeros.length, totalBytes - off), off);
    fdatasyncSync(fd);
    const block = Buffer.alloc(blockSize, 0x5a);
    const t0 = performance.now();
    const expected = Math.floor(totalBytes / blockSize);
    let shown = t0;
    for (let off = 0; off + blockSize <= totalBytes; off += blockSize) {
      writeSync(fd, block, 0, blockSize, off);
      const s = performance.now();
      fdatasyncSync(fd);
      const e = performance.now();
      hist.recordValue(Math.max(1, Math.round((e - s) * 1000)));
      syncs++;
      if (opts.onProgress && e - shown >= 250) {
        shown = e;
        opts.onProgress(syncs, expected, e - t0);
      }
    }
    const elapsed = (performance.now() - t0) / 1000;
    const ms = (us: number): number => us / 1000;
    const p99Ms = ms(hist.getValueAtPercentile(99));
    const passed = p99Ms < DISK_P99_LIMIT_MS;
    return {
      dir: opts.dir,
      syncs,
      blockSize,
      totalBytes,
      durationSeconds: (performance.now() - start) / 1000,
      fdatasync: {
        p50Ms: ms(hist.getValueAtPercentile(50)),
        p99Ms,
        p999Ms: ms(hist.getValueAtPercentile(99.9)),
        maxMs: ms(hist.maxValue),
        avgMs: ms(hist.mean),
      },
      syncsPerSecond: syncs / elapsed,
      passed,
      verdict: passed
        ? `PASS: fdatasync P99 ${p99Ms.toFixed(2)} ms < ${DISK_P99_LIMIT_MS} ms`
        : `FAIL: fdatasync P99 ${p99Ms.toFixed(2)} ms >= ${DISK_P99_LIMIT_MS} ms; etcd needs a faster disk (WAL fsync P99 < 10 ms)`,
    };
  } catch (err) {
    throw new MonitorError('DISK_CHECK_FAILED', `disk check in ${opts.dir}: ${describeError(err)}`, {
      cause: err,
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(file, { force: true });
  }
}

/** Human-readable report of a disk check. */
export function formatDiskCheck(r: DiskCheckResult): string {
  const f = (n: number): string => `${n.toFixed(3)} ms`;
  return [
    '=== Disk Check (etcd fio recipe: 2300-byte writes + fdatasync, preallocated file) ===',
    `Directory:      ${r.dir}`,
    `Syncs:          ${r.syncs} x ${r.blockSize} bytes (${(r.totalBytes / 1024 / 1024).toFixed(1)} MiB) in ${r.durationSeconds.toFixed(2)} s`,
    `Syncs/sec:      ${r.syncsPerSecond.toFixed(0)}`,
    `fdatasync P50:  ${f(r.fdatasync.p50Ms)}`,
    `fdatasync P99:  ${f(r.fdatasync.p99Ms)}`,
    `fdatasync P99.9:${f(r.fdatasync.p999Ms)}`,
    `fdatasync max:  ${f(r.fdatasync.maxMs)}`,
    r.verdict,
    '',
  ].join('\n');
}
