import type { Threshold, ValueMap } from './spec.js';

type Json = Record<string, unknown>;

/** Grafana's absolute thresholds JSON; a panel without thresholds is plain green. */
export function thresholdsJson(steps: Threshold[] | undefined): Json {
  const list = steps ?? [[null, 'green']];
  return { mode: 'absolute', steps: list.map(([value, color]) => ({ color, value })) };
}

/** Grafana's value-mapping JSON for a list of value → text and colour. */
export function mappingsJson(maps: ValueMap[] | undefined): Json[] {
  if (!maps || maps.length === 0) return [];
  const options: Json = {};
  maps.forEach((m, index) => {
    options[String(m.value)] = { text: m.text, color: m.color, index };
  });
  return [{ type: 'value', options }];
}
