import { constants } from 'node:fs';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { MAX_LINE_BYTES, readJsonLines } from './read-lines.js';

/** Anything kept in an event log: `seq` grows by one per event, across restarts. */
export interface LoggedEvent {
  readonly seq: number;
}

/** How many events a log keeps, in memory and on disk after compaction, unless given a capacity: the newest 1,000. */
export const DEFAULT_EVENT_CAPACITY = 1000;
// Corrupt lines are logged one by one up to this many per start-up, then only counted.
const CORRUPT_LINES_LOGGED = 10;
// Past this many events awaiting a retried write, those neither in the ring nor kept beyond it are given up
// (none of them was acknowledged, and a compaction would drop them anyway).
const MAX_PENDING_FACTOR = 2;
// A failed write is tried again after this long even if no new event arrives.
const RETRY_AFTER_MS = 10_000;

/**
 * The common start of every `parse` option: one stored line as a JSON object with a valid `seq`; a string
 * is the reason it is not one.
 */
export function parseLoggedObject(line: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `not JSON (${err instanceof Error ? err.message : String(err)})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq) || v.seq < 0) return 'missing or bad "seq"';
  return v;
}

/** Up to `limit` events of `ring` (oldest first) that `keep` accepts, newest first: a history query's page. */
export function newestFirst<T>(ring: readonly T[], keep: (event: T) => boolean, limit = ring.length): T[] {
  const out: T[] = [];
  for (let i = ring.length - 1; i >= 0 && out.length < limit; i--) {
    const event = ring[i] as T;
    if (keep(event)) out.push(event);
  }
  return out;
}

export interface EventLogOptions<T extends LoggedEvent> {
  /** Short name for metrics: "alerts", "leader". */
  readonly name: string;
  /** What log lines call it: "alert history". */
  readonly title: string;
  /** Directory of the file (--data-dir). */
  readonly dir: string;
  readonly fileName: string;
  readonly log: Logger;
  /** Validates one stored line; a string return is the reason it was skipped. */
  readonly parse: (line: string) => T | string;
  readonly capacity?: number;
  /** The file is compacted once it holds more than this many lines (default 2 × capacity, ≥ 2 × retained). */
  readonly compactAfterLines?: number;
  /** Called for every valid stored event at start-up, oldest first (e.g. to rebuild what is firing). */
  readonly onLoad?: (event: T) => void;
  /** Events older than the ring's oldest that compaction must keep (e.g. alerts still firing), oldest first. */
  readonly keepBeyondRing?: (oldestSeqInRing: number) => readonly T[];
  /** How long after a failed write it is tried again without waiting for a new event (default 10 s). */
  readonly retryAfterMs?: number;
}

export interface EventLogStats {
  readonly name: string;
  readonly file: string;
  /** False when the file could not be used at start-up: events live in memory only until a restart. */
  readonly persistent: boolean;
  readonly unavailableReason?: string;
  readonly capacity: number;
  readonly size: number;
  readonly fileLines: number;
  readonly corruptLinesSkipped: number;
  readonly writeFailures: number;
  readonly compactions: number;
  /** Events not on disk yet because their write failed; retried with the next write. */
  readonly pendingEvents: number;
  readonly lastWriteError?: string;
}

export interface AppendResult {
  /** True once every event given so far is on disk (written and fsync'd). */
  readonly persisted: boolean;
  /** True when the log has no file (the data directory was unusable at start-up). */
  readonly memoryOnly: boolean;
  readonly error?: string;
}

/** A bounded, persisted event log: the newest `capacity` events in memory, mirrored to an append-only JSONL file. */
export interface EventLog<T extends LoggedEvent> {
  /** The seq the next appended event must carry. */
  readonly nextSeq: number;
  /** Adds events to memory at once, then writes them in one append; resolves after fsync (or failure). */
  append(events: readonly T[]): Promise<AppendResult>;
  /** Writes events whose earlier write failed; resolves like append. */
  flush(): Promise<AppendResult>;
  /** The ring, oldest first. */
  events(): readonly T[];
  stats(): EventLogStats;
  close(): Promise<void>;
}

/**
 * Opens the log under `dir`, never rejecting: corrupt or torn lines are skipped, counted and logged, more
 * than `capacity` events are trimmed, and an unusable directory or file leaves the log in memory only
 * (logged as an error naming --data-dir). Appends are positional writes at the end of the last good line,
 * so a write torn by a full disk is overwritten by the next one instead of corrupting it.
 */
export async function openEventLog<T extends LoggedEvent>(options: EventLogOptions<T>): Promise<EventLog<T>> {
  const { name, title, log: parentLog, parse, onLoad, keepBeyondRing } = options;
  const capacity = options.capacity ?? DEFAULT_EVENT_CAPACITY;
  const compactAfterLines = options.compactAfterLines ?? 2 * capacity;
  const file = path.resolve(options.dir, options.fileName);
  const log = parentLog.child({ component: 'event-log', history: name });

  const ring: T[] = [];
  // Each event's line, made once: a compaction rewrites up to 11,000 retained events (≈5 MB) that were
  // already serialised when appended or read.
  const lines = new WeakMap<T, string>();
  const line = (e: T): string => {
    let text = lines.get(e);
    if (text === undefined) {
      text = `${JSON.stringify(e)}\n`;
      lines.set(e, text);
    }
    return text;
  };
  let pending: T[] = [];
  let nextSeq = 1;
  let fileLines = 0;
  let corruptLinesSkipped = 0;
  let writeFailures = 0;
  let compactions = 0;
  let lastWriteError: string | undefined;
  let unavailableReason: string | undefined;
  let handle: FileHandle | undefined;
  // Byte offset just past the last line known to be complete on disk; the next write starts there.
  let goodOffset = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const remember = (event: T): void => {
    ring.push(event);
    if (ring.length > capacity) ring.splice(0, ring.length - capacity);
    nextSeq = Math.max(nextSeq, event.seq + 1);
  };

  const unusable = (what: string, err: unknown): void => {
    unavailableReason = `${what}: ${describeError(err)}`;
    log.error(
      { file, err: describeError(err) },
      `cannot use --data-dir ${options.dir} for the ${title} (${what}); keeping it in memory only ` +
        `(etcd_monitor_history_persistent{history="${name}"} 0) until the directory is fixed and the exporter restarted`,
    );
  };

  // Load.
  let needsCompaction = false;
  try {
    await mkdir(options.dir, { recursive: true });
    const skip = (lineNo: number, reason: string, text: string | undefined): void => {
      corruptLinesSkipped++;
      if (corruptLinesSkipped > CORRUPT_LINES_LOGGED) return;
      log.warn(
        { file, line: lineNo, reason, content: text?.slice(0, 200) },
        `skipping corrupt ${title} line`,
      );
    };
    const read = await readJsonLines(file, (text, lineNo) => {
      if (text === '') return;
      const parsed = text === undefined ? `longer than ${MAX_LINE_BYTES} bytes` : parse(text);
      if (typeof parsed === 'string') {
        skip(lineNo, parsed, text);
        return;
      }
      lines.set(parsed, `${text}\n`);
      remember(parsed);
      onLoad?.(parsed);
      fileLines++;
    });
    goodOffset = read.completeBytes;
    if (read.tornTail)
      skip(read.lines, 'cut short: no newline at the end (a write torn by a crash or full disk)', undefined);
    if (corruptLinesSkipped > 0) {
      log.warn(
        { file, corruptLinesSkipped, kept: ring.length },
        `${title} had corrupt lines; they were skipped (etcd_monitor_history_corrupt_lines_skipped_total)`,
      );
    }
    needsCompaction = corruptLinesSkipped > 0 || fileLines > capacity;
  } catch (err) {
    unusable('reading it failed', err);
  }
  if (unavailableReason === undefined) {
    try {
      handle = await open(file, constants.O_RDWR | constants.O_CREAT, 0o644);
    } catch (err) {
      unusable('opening it for writing failed', err);
    }
  }

  const retained = (): T[] => {
    const oldest = ring[0]?.seq ?? Infinity;
    return [...(keepBeyondRing?.(oldest) ?? []), ...ring];
  };

  /** Writes the retained events to a new file, fsyncs it and renames it over the old one. */
  const compact = async (): Promise<boolean> => {
    const keep = retained();
    const tmp = `${file}.tmp`;
    let out: FileHandle | undefined;
    try {
      const body = Buffer.from(keep.map(line).join(''));
      out = await open(tmp, 'w', 0o644);
      await writeAll(out, body, 0);
      await out.sync();
      await out.close();
      out = undefined;
      // rename is atomic: a crash leaves the old file or the new one, never a half-written history.
      await rename(tmp, file);
      goodOffset = body.length;
      fileLines = keep.length;
      compactAt = Math.max(compactAfterLines, 2 * keep.length);
      compactions++;
      const written = keep.at(-1)?.seq ?? 0;
      pending = pending.filter((e) => e.seq > written);
      const old = handle;
      handle = undefined;
      await old?.close().catch(() => undefined);
      await syncDir(path.dirname(file));
      handle = await open(file, constants.O_RDWR | constants.O_CREAT, 0o644);
      return true;
    } catch (err) {
      await out?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      log.warn(
        { file, err: describeError(err) },
        `compacting the ${title} failed; appending to it as before`,
      );
      return false;
    }
  };

  // Compact once the file holds twice what the last compaction kept (ring plus e.g. alerts still firing).
  let compactAt = Math.max(compactAfterLines, 2 * Math.min(fileLines, capacity));
  if (handle && needsCompaction) await compact();
  if (unavailableReason === undefined) {
    log.info({ file, events: ring.length, corruptLinesSkipped }, `${title} loaded`);
  }

  const scheduleRetry = (): void => {
    if (retryTimer || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void enqueue();
    }, options.retryAfterMs ?? RETRY_AFTER_MS);
    retryTimer.unref();
  };

  const writePending = async (): Promise<AppendResult> => {
    if (unavailableReason !== undefined) return { persisted: false, memoryOnly: true };
    if (pending.length === 0) return { persisted: true, memoryOnly: false };
    // Past the threshold one compaction writes the retained events, these included, instead of an append
    // followed by a compaction (a notification of 10,000 alerts would otherwise be written twice).
    if (fileLines + pending.length > compactAt && (await compact()))
      return { persisted: true, memoryOnly: false };
    const batch = pending.slice();
    const body = Buffer.from(batch.map(line).join(''));
    try {
      // Reopened here when a compaction failed between closing the old file and opening the new one.
      handle ??= await open(file, constants.O_RDWR | constants.O_CREAT, 0o644);
      await writeAll(handle, body, goodOffset);
      // Drops what a torn earlier write may have left past this one.
      await handle.truncate(goodOffset + body.length);
      await handle.datasync();
    } catch (err) {
      writeFailures++;
      lastWriteError = describeError(err);
      log.error(
        { file, err: lastWriteError, pendingEvents: pending.length },
        `could not write the ${title}; the events stay in memory and the write is retried`,
      );
      if (pending.length > MAX_PENDING_FACTOR * capacity) {
        // While the disk stays full only what a compaction would keep is worth keeping for the retry.
        const keep = new Set(retained());
        pending = pending.filter((e) => keep.has(e));
      }
      scheduleRetry();
      return { persisted: false, memoryOnly: false, error: lastWriteError };
    }
    goodOffset += body.length;
    fileLines += batch.length;
    pending.splice(0, batch.length);
    if (lastWriteError !== undefined) {
      log.info({ file }, `${title} is written again`);
      lastWriteError = undefined;
    }
    return { persisted: true, memoryOnly: false };
  };

  // Writes and compactions run one after another, in call order.
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = (): Promise<AppendResult> => {
    const done = queue.then(writePending);
    queue = done;
    return done;
  };

  return {
    get nextSeq() {
      return nextSeq;
    },
    append(events) {
      for (const event of events) remember(event);
      if (unavailableReason !== undefined) return Promise.resolve({ persisted: false, memoryOnly: true });
      for (const event of events) pending.push(event);
      return enqueue();
    },
    flush: enqueue,
    events: () => ring,
    stats: () => ({
      name,
      file,
      persistent: unavailableReason === undefined,
      ...(unavailableReason !== undefined ? { unavailableReason } : {}),
      capacity,
      size: ring.length,
      fileLines,
      corruptLinesSkipped,
      writeFailures,
      compactions,
      pendingEvents: pending.length,
      ...(lastWriteError !== undefined ? { lastWriteError } : {}),
    }),
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await queue;
      if (pending.length > 0) await writePending();
      await handle?.close();
      handle = undefined;
    },
  };
}

async function writeAll(handle: FileHandle, body: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < body.length) {
    const { bytesWritten } = await handle.write(body, done, body.length - done, position + done);
    done += bytesWritten;
  }
}

/** fsync of the directory makes the rename itself durable (rename(2) alone may be lost on a crash). */
async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
