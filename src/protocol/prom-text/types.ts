/** One sample line of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** A metric family: HELP/TYPE and every sample whose name belongs to it (incl. _bucket/_sum/_count). */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly Sample[];
}

/** Parsed /metrics of one member, indexed by family name. */
export type ParsedMetrics = ReadonlyMap<string, MetricFamily>;
