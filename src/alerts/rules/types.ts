/** Severity label values; Alertmanager routing keys on these. */
export type Severity = 'info' | 'warning' | 'critical';

/** An alerting rule before rendering: `forMs` is scaled or overridden at render time, runbook_url is added then. */
export interface AlertDef {
  readonly alert: string;
  readonly expr: string;
  readonly forMs: number;
  readonly severity: Severity;
  readonly summary: string;
  /** May use only `{{ $labels.<name> }}`; promtool test expectations are filled in from it. */
  readonly description: string;
  /** Static labels besides severity (only for alerts that cannot carry a real cluster). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A recording rule; its name follows `level:metric:operations` and its output always carries `cluster`. */
export interface RecordDef {
  readonly record: string;
  readonly expr: string;
}

/** A rule group as defined in code. */
export interface GroupDef {
  readonly name: string;
  readonly rules: readonly (AlertDef | RecordDef)[];
}

/** Rendered alerting rule, exactly as written to the rules file. */
export interface RenderedAlert {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

/** Rendered recording rule. */
export interface RenderedRecord {
  record: string;
  expr: string;
}

/** Rendered group, as in Prometheus' rule file format and PrometheusRule.spec.groups. */
export interface RenderedGroup {
  name: string;
  rules: (RenderedAlert | RenderedRecord)[];
}

/** True for alerting rules. */
export const isAlert = (rule: AlertDef | RecordDef): rule is AlertDef => 'alert' in rule;
