import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import type https from 'node:https';
import type { RequestListener } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../../util/logger.js';
import { createAuditLogger, createAuditMiddleware } from './audit.js';
import { Authenticator, createAuthMiddleware, type AuthStats } from './auth.js';
import { createCorsMiddleware } from './cors.js';
import { createExporterServer } from './https.js';
import { createMutationGuard } from './mutation-guard.js';
import { createRequestLogger } from './request-log.js';
import { loadWebConfig, OPEN_WEB_CONFIG, type WebConfig } from './web-config.js';

export { createAuditLogger, createAuditMiddleware } from './audit.js';
export {
  Authenticator,
  createAuthMiddleware,
  requiredRole,
  roleAllows,
  type AuthStats,
  type Principal,
} from './auth.js';
export { AuthBusyError, BcryptQueue } from './bcrypt-queue.js';
export { createMutationGuard, mediaTypeOf } from './mutation-guard.js';
export { createCorsMiddleware } from './cors.js';
export { createExporterServer, createHttpsServerOptions } from './https.js';
export { createRequestLogger } from './request-log.js';
export { loadWebConfig, parseWebConfig, type Role, type WebConfig } from './web-config.js';

export interface HttpSecurityOptions {
  /** --web.config.file; without it the server is plain HTTP and open, as before. */
  readonly webConfigFile?: string;
  /** --cors-origin values ("*" for any). */
  readonly corsOrigins?: readonly string[];
  readonly log: Logger;
  /** Audit destination when the web config names no audit_log_file (tests pass a stream). */
  readonly auditStream?: NodeJS.WritableStream;
}

/** Everything the HTTP layer needs for security, built once at startup. */
export interface HttpSecurity {
  readonly webConfig: WebConfig;
  /**
   * To app.use() before any route, in this order: request log, CORS, audit, mutation guard (Origin and
   * Content-Type of POST/PUT/PATCH/DELETE), authentication/authorization.
   */
  readonly middleware: readonly RequestHandler[];
  /** Listens with TLS when the web config asks for it; resolves once bound. */
  listen(app: RequestListener, port: number, host: string): Promise<http.Server | https.Server>;
  readonly scheme: 'http' | 'https';
  /** Re-reads the TLS certificate and key of the listening server (for rotation, e.g. on SIGHUP); no-op without TLS. */
  reloadTls(): void;
  /** What the authenticator did so far (bcrypt comparisons, cache hits, 429s). */
  authStats(): Readonly<AuthStats>;
  /** Flushes the audit log and stops the bcrypt worker. */
  close(): Promise<void>;
}

/** Loads the web config and assembles middleware and server factory (see HttpSecurity). */
export function createHttpSecurity(opts: HttpSecurityOptions): HttpSecurity {
  const webConfig = opts.webConfigFile ? loadWebConfig(opts.webConfigFile) : OPEN_WEB_CONFIG;
  const audit = createAuditLogger(
    webConfig.auditLogFile
      ? { file: webConfig.auditLogFile }
      : opts.auditStream
        ? { stream: opts.auditStream }
        : {},
  );
  const authenticator = new Authenticator(webConfig);
  const middleware: RequestHandler[] = [
    createRequestLogger(opts.log),
    ...(opts.corsOrigins && opts.corsOrigins.length > 0 ? [createCorsMiddleware(opts.corsOrigins)] : []),
    createAuditMiddleware(audit),
    createMutationGuard(opts.corsOrigins ?? []),
    createAuthMiddleware(webConfig, authenticator),
  ];
  opts.log.info(
    {
      tls: webConfig.tls ? { clientAuthType: webConfig.tls.clientAuthType } : false,
      basicAuthUsers: webConfig.basicAuthUsers.size,
      tokens: webConfig.tokens.map((t) => ({ name: t.name, role: t.role })),
      metricsAuth: webConfig.metricsAuth,
    },
    'HTTP security configured',
  );
  let reload: () => void = () => undefined;
  return {
    webConfig,
    middleware,
    scheme: webConfig.tls ? 'https' : 'http',
    reloadTls: () => reload(),
    listen: (app, port, host) =>
      new Promise((resolve, reject) => {
        const { server, reloadTls } = createExporterServer(app, webConfig.tls);
        reload = reloadTls;
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server);
        });
      }),
    authStats: () => ({ ...authenticator.stats }),
    close: async () => {
      audit.flush();
      await authenticator.close();
    },
  };
}

/** The bound port of a listening server. */
export function boundPort(server: http.Server | https.Server): number {
  return (server.address() as AddressInfo).port;
}
