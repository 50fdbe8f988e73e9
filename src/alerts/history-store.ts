import {
  DEFAULT_EVENT_CAPACITY,
  newestFirst,
  openEventLog,
  type EventLogStats,
} from '../history/event-log.js';
import type { Logger } from '../util/logger.js';
import { eventsFromAlerts, parseEventLine, type AlertEvent } from './history-event.js';
import type { WebhookAlert, WebhookPayload } from './webhook-payload.js';

export type { AlertEvent } from './history-event.js';

/** File name of the alert history inside --data-dir. */
export const HISTORY_FILE_NAME = 'alert-history.jsonl';
/** Events kept in memory and on disk after compaction. */
export const DEFAULT_HISTORY_CAPACITY = DEFAULT_EVENT_CAPACITY;
/** Alertmanager's own default resolve_timeout. */
export const DEFAULT_RESOLVE_TIMEOUT_MS = 5 * 60_000;
/** Most alerts kept as firing; past it the least recently notified are dropped (one full notification fits). */
export const DEFAULT_MAX_FIRING = 10_000;
/**
 * Always-firing alerts that prove the pipeline works (ours and kube-prometheus' Watchdog). They belong to a
 * dead-man's switch; recorded here they would be all the history holds within days (one event per repeat).
 */
export const WATCHDOG_ALERTNAMES: readonly string[] = ['EtcdMonitorWatchdog', 'Watchdog'];

export interface HistoryQuery {
  limit?: number;
  /** Only events (or firing alerts) whose seq is below this: the cursor of the next page. */
  before?: number;
  cluster?: string;
  alertname?: string;
}

export interface HistoryStats {
  readonly log: EventLogStats;
  readonly firing: number;
  readonly maxFiring: number;
  readonly resolveTimeoutMs: number;
  /** Firing alerts dropped because Alertmanager stopped re-sending them for resolveTimeoutMs. */
  readonly expiredTotal: number;
  /** Firing alerts dropped, least recently notified first, to stay within maxFiring. */
  readonly droppedOverCapacityTotal: number;
  readonly ignoredWatchdogTotal: number;
}

export interface RecordResult {
  /** New events: alerts whose state changed (a repeat of an unchanged firing alert only refreshes it). */
  readonly events: AlertEvent[];
  readonly refreshed: number;
  readonly ignored: number;
  /** Every event so far is on disk (written and fsync'd). */
  readonly persisted: boolean;
  /** No usable --data-dir: kept in memory only. */
  readonly memoryOnly: boolean;
  readonly error?: string;
}

/** Alert history (bounded, persisted) and the set of alerts firing now (bounded, expiring). */
export interface HistoryStore {
  record(payload: WebhookPayload, receivedAt?: Date): Promise<RecordResult>;
  /** Newest first. */
  history(query?: HistoryQuery): AlertEvent[];
  /** The latest event of every alert still firing, newest first; `total` counts all that match. */
  firing(query?: HistoryQuery): { alerts: AlertEvent[]; total: number };
  stats(): HistoryStats;
  close(): Promise<void>;
}

export interface HistoryStoreOptions {
  capacity?: number;
  compactAfterLines?: number;
  resolveTimeoutMs?: number;
  maxFiring?: number;
  now?: () => number;
}

interface Firing {
  event: AlertEvent;
  /** When Alertmanager last told us (ms): a still-firing alert is re-sent every repeat_interval. */
  seenAt: number;
}

const matches = (e: AlertEvent, q: HistoryQuery): boolean =>
  (q.cluster === undefined || e.cluster === q.cluster) &&
  (q.alertname === undefined || e.alertname === q.alertname) &&
  (q.before === undefined || e.seq < q.before);

/**
 * Opens the alert history under `dataDir`; never rejects (see openEventLog): an unusable directory leaves the
 * history in memory only, which stats().log.persistent reports.
 */
export async function openHistoryStore(
  dataDir: string,
  log: Logger,
  options: HistoryStoreOptions = {},
): Promise<HistoryStore> {
  const resolveTimeoutMs = options.resolveTimeoutMs ?? DEFAULT_RESOLVE_TIMEOUT_MS;
  const maxFiring = options.maxFiring ?? DEFAULT_MAX_FIRING;
  const now = options.now ?? Date.now;
  // Map order is notification order (a refresh moves an entry to the end), so the oldest is first.
  const firing = new Map<string, Firing>();
  // startsAt of recently resolved alerts, so Alertmanager's retry of a resolve is not a second event.
  const resolved = new Map<string, string>();
  let expiredTotal = 0;
  let droppedOverCapacityTotal = 0;
  let ignoredWatchdogTotal = 0;
  const startedAt = now();

  const setFiring = (event: AlertEvent, seenAt: number): void => {
    firing.delete(event.fingerprint);
    firing.set(event.fingerprint, { event, seenAt });
    resolved.delete(event.fingerprint);
  };
  const setResolved = (event: AlertEvent): void => {
    firing.delete(event.fingerprint);
    resolved.delete(event.fingerprint);
    resolved.set(event.fingerprint, event.startsAt);
  };
  /** Deletes the `count` oldest entries with one iterator (keys().next() per deletion walks V8's holes: O(n²)). */
  const dropOldest = (map: Map<string, unknown>, count: number): void => {
    for (const key of map.keys()) {
      if (count-- <= 0) break;
      map.delete(key);
    }
  };
  const trim = (at: number): void => {
    for (const [fp, f] of firing) {
      if (at - f.seenAt <= resolveTimeoutMs) break;
      firing.delete(fp);
      expiredTotal++;
    }
    if (firing.size > maxFiring) {
      droppedOverCapacityTotal += firing.size - maxFiring;
      dropOldest(firing, firing.size - maxFiring);
    }
    if (resolved.size > maxFiring) dropOldest(resolved, resolved.size - maxFiring);
  };

  const events = await openEventLog<AlertEvent>({
    name: 'alerts',
    dir: dataDir,
    title: 'alert history',
    fileName: HISTORY_FILE_NAME,
    log,
    parse: parseEventLine,
    ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
    ...(options.compactAfterLines !== undefined ? { compactAfterLines: options.compactAfterLines } : {}),
    // A restart is not a resolve: what was firing gets a full resolve timeout from start-up to be re-sent.
    onLoad: (e) => {
      if (e.status === 'firing') setFiring(e, startedAt);
      else setResolved(e);
      // A file written before the firing set had a bound may hold 300,000 firing alerts: trim as it loads.
      if (firing.size > 2 * maxFiring || resolved.size > 2 * maxFiring) trim(startedAt);
    },
    keepBeyondRing: (oldest) =>
      [...firing.values()]
        .map((f) => f.event)
        .filter((e) => e.seq < oldest)
        .sort((a, b) => a.seq - b.seq),
  });
  trim(startedAt);

  /** Whether this alert changes what we know, or only repeats it (or is a watchdog). */
  const classify = (alert: WebhookAlert): 'new' | 'refresh' | 'duplicate' | 'ignored' => {
    if (WATCHDOG_ALERTNAMES.includes(alert.labels.alertname ?? '')) return 'ignored';
    const current = firing.get(alert.fingerprint);
    if (alert.status === 'firing') return current?.event.startsAt === alert.startsAt ? 'refresh' : 'new';
    if (current) return 'new';
    return resolved.get(alert.fingerprint) === alert.startsAt ? 'duplicate' : 'new';
  };

  return {
    async record(payload, receivedAt = new Date()) {
      const at = receivedAt.getTime();
      trim(at);
      const changed: WebhookAlert[] = [];
      let refreshed = 0;
      let ignored = 0;
      for (const alert of payload.alerts) {
        const kind = classify(alert);
        if (kind === 'new') changed.push(alert);
        else if (kind === 'ignored') ignored++;
        else if (kind === 'refresh') {
          refreshed++;
          setFiring((firing.get(alert.fingerprint) as Firing).event, at);
        }
      }
      ignoredWatchdogTotal += ignored;
      const added = eventsFromAlerts(payload, changed, receivedAt, events.nextSeq);
      for (const e of added) {
        if (e.status === 'firing') setFiring(e, at);
        else setResolved(e);
      }
      trim(at);
      // Nothing new still flushes: a refresh may repeat an alert whose first write failed.
      const result = await (added.length > 0 ? events.append(added) : events.flush());
      return { events: added, refreshed, ignored, ...result };
    },
    history(query = {}) {
      return newestFirst(events.events(), (event) => matches(event, query), query.limit);
    },
    firing(query = {}) {
      trim(now());
      const filters = { ...query, before: undefined };
      const page: AlertEvent[] = [];
      let total = 0;
      for (const f of firing.values()) {
        if (!matches(f.event, filters)) continue;
        total++;
        if (query.before === undefined || f.event.seq < query.before) page.push(f.event);
      }
      page.sort((a, b) => b.seq - a.seq);
      return { alerts: page.slice(0, query.limit ?? page.length), total };
    },
    stats: () => ({
      log: events.stats(),
      firing: firing.size,
      maxFiring,
      resolveTimeoutMs,
      expiredTotal,
      droppedOverCapacityTotal,
      ignoredWatchdogTotal,
    }),
    close: () => events.close(),
  };
}
