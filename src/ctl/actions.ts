import type { Action } from './action-types.js';
import { clusterActions } from './actions-cluster.js';
import { kvActions } from './actions-kv.js';

export { FIELDS_ACTIONS, type Action, type Args, type CtlIo, type Outcome } from './action-types.js';

/** Every ctl subcommand by name (`lease-grant` for `ctl lease grant`). */
export const actions: Record<string, Action> = { ...kvActions, ...clusterActions };
