import type { PanelSpec, Target } from './spec.js';

/** A time series panel, a third of the grid wide unless `extra` says otherwise. */
export const timeseries = (
  title: string,
  description: string,
  unit: string,
  targets: Target[],
  extra: Partial<PanelSpec> = {},
): PanelSpec => ({ kind: 'timeseries', title, description, unit, targets, w: 8, h: 8, ...extra });
