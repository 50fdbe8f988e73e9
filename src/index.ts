/**
 * Library entry of etcd-monitor: the monitor (health derivation of a cluster, as the exporter runs it), typed
 * etcd operations (what `etcd-monitor ctl` runs), and the HTTP pieces for embedding the API in another server.
 */
export {
  createMonitor,
  type ClusterStatus,
  type CurrentMetrics,
  type EtcdMonitor,
  type MonitorOptions,
} from './monitor/library.js';
export { EtcdOperations } from './ctl/operations.js';
export type * from './ctl/operations.js';
export { CtlError, EXIT_CODES, type CtlErrorKind } from './ctl/errors.js';
export { runCtl, type CtlRun } from './ctl/commands.js';
export { resolveConfig, type ConfigSources } from './config/resolve.js';
export type { ClusterConfig, MonitorConfig, Thresholds, TlsFiles } from './config/types.js';
export type { ClusterView } from './derive/view.js';
export type { AlarmEntry, MemberListEntry, MemberStatus } from './etcd/types.js';
export { Monitor } from './monitor/monitor.js';
export { createApp, type AppDeps } from './server/app.js';
export { createHistoryRoutes, HISTORY_METRICS } from './server/history-routes.js';
export { createOpenApiRoutes, OPENAPI_DOCUMENT } from './server/openapi.js';
export {
  createHttpSecurity,
  loadWebConfig,
  type HttpSecurity,
  type Role,
  type WebConfig,
} from './server/security/index.js';
export { ConfigError, MonitorError } from './util/errors.js';
