import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../util/logger.js';
import { describeError, MonitorError } from '../util/errors.js';
import { eventsFromPayload, parseEventLine, type AlertEvent } from './history-event.js';
import type { WebhookPayload } from './webhook-payload.js';

export type { AlertEvent } from './history-event.js';

/** File name of the alert history inside --data-dir. */
export const HISTORY_FILE_NAME = 'alert-history.jsonl';
/** Events kept in memory and on disk after compaction. */
export const DEFAULT_HISTORY_CAPACITY = 1000;
// Corrupt lines are logged one by one up to this many per start-up, then only counted.
const CORRUPT_LINES_LOGGED = 10;

export interface HistoryQuery {
  limit?: number;
  cluster?: string;
  alertname?: string;
}

export interface HistoryStats {
  readonly file: string;
  readonly capacity: number;
  readonly size: number;
  readonly fileLines: number;
  readonly corruptLinesSkipped: number;
  readonly persistFailures: number;
}

/** Bounded alert history: the newest `capacity` events in memory, mirrored to an append-only JSONL file. */
export interface HistoryStore {
  /** Records a notification; resolves once it is on disk (`persisted` false if the write failed and was logged). */
  record(payload: WebhookPayload, receivedAt?: Date): Promise<{ events: AlertEvent[]; persisted: boolean }>;
  /** Newest first. */
  history(query?: HistoryQuery): AlertEvent[];
  /** The latest event of every alert whose last notification said "firing", newest first. */
  firing(query?: Omit<HistoryQuery, 'limit'>): AlertEvent[];
  stats(): HistoryStats;
  close(): Promise<void>;
}

export interface HistoryStoreOptions {
  capacity?: number;
  /** The file is rewritten down to `capacity` lines once it holds more than this (default 2 × capacity). */
  compactAfterLines?: number;
}

/** The history directory or file cannot be used at all (as opposed to a corrupt line, which is skipped). */
export class HistoryStoreError extends MonitorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ALERT_HISTORY_UNAVAILABLE', message, options);
  }
}

const matches = (e: AlertEvent, q: HistoryQuery): boolean =>
  (q.cluster === undefined || e.cluster === q.cluster) &&
  (q.alertname === undefined || e.alertname === q.alertname);

/**
 * Opens (creating if needed) the alert history under `dataDir`. Corrupt lines are skipped, counted and
 * logged, then compacted away; only an unusable directory or file rejects, with HistoryStoreError.
 */
export async function openHistoryStore(
  dataDir: string,
  log: Logger,
  options: HistoryStoreOptions = {},
): Promise<HistoryStore> {
  const capacity = options.capacity ?? DEFAULT_HISTORY_CAPACITY;
  const compactAfterLines = options.compactAfterLines ?? 2 * capacity;
  const file = path.resolve(dataDir, HISTORY_FILE_NAME);
  const slog = log.child({ component: 'alert-history' });

  const ring: AlertEvent[] = [];
  // Keyed by fingerprint, and kept apart from the ring so a long-firing alert survives ring eviction.
  const active = new Map<string, AlertEvent>();
  let nextSeq = 1;
  let fileLines = 0;
  let corruptLinesSkipped = 0;
  let persistFailures = 0;

  const remember = (event: AlertEvent): void => {
    ring.push(event);
    if (ring.length > capacity) ring.splice(0, ring.length - capacity);
    if (event.status === 'firing') active.set(event.fingerprint, event);
    else active.delete(event.fingerprint);
    nextSeq = Math.max(nextSeq, event.seq + 1);
  };

  try {
    await mkdir(dataDir, { recursive: true });
  } catch (err) {
    throw new HistoryStoreError(`cannot create data directory ${dataDir}: ${describeError(err)}`, {
      cause: err,
    });
  }

  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new HistoryStoreError(`cannot read ${file}: ${describeError(err)}`, { cause: err });
    }
  }
  const lines = text.split('\n');
  const tornTail = lines[lines.length - 1] !== '';
  if (!tornTail) lines.pop();
  lines.forEach((line, i) => {
    const parsed = parseEventLine(line);
    if (typeof parsed === 'string') {
      corruptLinesSkipped++;
      if (corruptLinesSkipped <= CORRUPT_LINES_LOGGED) {
        slog.warn(
          { file, line: i + 1, reason: parsed, content: line.slice(0, 200) },
          'skipping corrupt alert history line',
        );
      }
      return;
    }
    remember(parsed);
  });
  if (corruptLinesSkipped > 0) {
    slog.warn(
      { file, corruptLinesSkipped, kept: ring.length },
      'alert history had corrupt lines; they were dropped',
    );
  }
  fileLines = lines.length;

  let handle: FileHandle | undefined;
  // Appends and compactions run one after another, in call order.
  let queue: Promise<unknown> = Promise.resolve();

  // The ring plus any still-firing alert that fell out of it, so "firing now" survives a restart.
  const retained = (): AlertEvent[] => {
    const oldest = ring[0]?.seq ?? Infinity;
    const evicted = [...active.values()].filter((e) => e.seq < oldest);
    return [...evicted.sort((a, b) => a.seq - b.seq), ...ring];
  };

  const compact = async (): Promise<void> => {
    const tmp = `${file}.tmp`;
    const out = await open(tmp, 'w');
    try {
      await out.writeFile(
        retained()
          .map((e) => `${JSON.stringify(e)}\n`)
          .join(''),
      );
      await out.sync();
    } finally {
      await out.close();
    }
    // rename is atomic: a crash leaves either the old file or the new one, never a half-written history.
    await rename(tmp, file);
    await handle?.close().catch(() => undefined);
    handle = await open(file, 'a');
    fileLines = retained().length;
  };

  try {
    handle = await open(file, 'a');
    // A torn tail would swallow the next append; corrupt or surplus lines are dropped now rather than later.
    if (tornTail || corruptLinesSkipped > 0 || fileLines > capacity) await compact();
  } catch (err) {
    throw new HistoryStoreError(`cannot write ${file}: ${describeError(err)}`, { cause: err });
  }
  slog.info({ file, events: ring.length, firing: active.size }, 'alert history loaded');

  const persist = async (events: AlertEvent[]): Promise<boolean> => {
    try {
      if (!handle) throw new Error('history file is not open');
      await handle.appendFile(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      fileLines += events.length;
      if (fileLines > compactAfterLines) await compact();
      return true;
    } catch (err) {
      persistFailures++;
      slog.error(
        { file, err: describeError(err) },
        'could not persist alert notification; kept in memory only',
      );
      return false;
    }
  };

  return {
    record(payload, receivedAt = new Date()) {
      const events = eventsFromPayload(payload, receivedAt, nextSeq);
      for (const event of events) remember(event);
      const done = queue.then(() => persist(events));
      queue = done;
      return done.then((persisted) => ({ events, persisted }));
    },
    history(query = {}) {
      const limit = query.limit ?? capacity;
      const out: AlertEvent[] = [];
      for (let i = ring.length - 1; i >= 0 && out.length < limit; i--) {
        const event = ring[i] as AlertEvent;
        if (matches(event, query)) out.push(event);
      }
      return out;
    },
    firing(query = {}) {
      return [...active.values()].filter((e) => matches(e, query)).sort((a, b) => b.seq - a.seq);
    },
    stats: () => ({ file, capacity, size: ring.length, fileLines, corruptLinesSkipped, persistFailures }),
    async close() {
      await queue;
      await handle?.close();
      handle = undefined;
    },
  };
}
