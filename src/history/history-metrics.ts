import { Counter, Gauge, type Registry } from 'prom-client';
import { HISTORY_METRICS, type OwnMetricDef } from '../expose/metric-table.js';
import type { EventLogStats } from './event-log.js';

/** What the alert store adds to its event log's stats. */
export interface AlertSetStats {
  readonly firing: number;
  readonly expiredTotal: number;
  readonly droppedOverCapacityTotal: number;
  readonly ignoredWatchdogTotal: number;
}

type Points = [labels: Record<string, string>, value: number][];

function series(registry: Registry, def: OwnMetricDef, points: () => Points): void {
  const options = { name: def.name, help: def.help, labelNames: [...def.labels], registers: [registry] };
  // Counters are set from running totals kept by the stores: reset, then add the total once per render.
  if (def.type === 'counter') {
    new Counter({
      ...options,
      collect() {
        this.reset();
        for (const [labels, value] of points()) this.inc(labels, value);
      },
    });
  } else {
    new Gauge({
      ...options,
      collect() {
        this.reset();
        for (const [labels, value] of points()) this.set(labels, value);
      },
    });
  }
}

/** Registers the history series (HISTORY_METRICS) on `registry`, read from the stores at each render. */
export function registerHistoryMetrics(
  registry: Registry,
  logs: () => readonly EventLogStats[],
  alerts: () => AlertSetStats,
): void {
  const perLog = (value: (s: EventLogStats) => number) => (): Points =>
    logs().map((s) => [{ history: s.name }, value(s)]);
  series(
    registry,
    HISTORY_METRICS.persistent,
    perLog((s) => (s.persistent ? 1 : 0)),
  );
  series(
    registry,
    HISTORY_METRICS.events,
    perLog((s) => s.size),
  );
  series(
    registry,
    HISTORY_METRICS.corrupt,
    perLog((s) => s.corruptLinesSkipped),
  );
  series(
    registry,
    HISTORY_METRICS.writeFailures,
    perLog((s) => s.writeFailures),
  );
  series(
    registry,
    HISTORY_METRICS.pending,
    perLog((s) => s.pendingEvents),
  );
  series(
    registry,
    HISTORY_METRICS.compactions,
    perLog((s) => s.compactions),
  );
  series(registry, HISTORY_METRICS.alertsFiring, () => [[{}, alerts().firing]]);
  series(registry, HISTORY_METRICS.alertsDropped, () => {
    const a = alerts();
    return [
      [{ reason: 'expired' }, a.expiredTotal],
      [{ reason: 'over_capacity' }, a.droppedOverCapacityTotal],
    ];
  });
  series(registry, HISTORY_METRICS.alertsIgnored, () => [
    [{ reason: 'watchdog' }, alerts().ignoredWatchdogTotal],
  ]);
}
