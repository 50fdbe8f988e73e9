import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Request, RequestHandler, Response } from 'express';
import { sendError } from '../http-errors.js';
import { authEnabled, type Role, type WebConfig } from './web-config.js';

/** Who made a request, as the audit log and handlers see it (never the credential itself). */
export interface Principal {
  readonly name: string;
  readonly role: Role;
  readonly via: 'basic' | 'bearer' | 'anonymous';
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Whether `role` includes the rights of `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** True for methods that change state (what the audit log records and what needs the operator role). */
export function isMutating(method: string): boolean {
  return MUTATING.has(method.toUpperCase());
}

/**
 * The role a request needs, or null when it is open: liveness/readiness probes and the landing page stay open,
 * /metrics is open unless metrics_auth is set, reads need viewer, anything that mutates needs operator.
 */
export function requiredRole(
  method: string,
  path: string,
  config: Pick<WebConfig, 'metricsAuth'>,
): Role | null {
  if (path === '/health' || path === '/ready' || path === '/') return null;
  if (path === '/metrics') return config.metricsAuth ? 'viewer' : null;
  if (method === 'OPTIONS') return null;
  return isMutating(method) ? 'operator' : 'viewer';
}

/** Reads the principal the auth middleware attached to a response. */
export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

// Compared against when the user is unknown, so a wrong user name costs as much time as a wrong password.
const DUMMY_HASH = bcrypt.hashSync('etcd-monitor-dummy-password', 10);
// bcrypt costs tens of milliseconds in pure JS; remembering recent verdicts keeps a scraped /metrics cheap.
const CACHE_LIMIT = 1000;

/** Verifies basic-auth and bearer credentials against the web config. */
export class Authenticator {
  // Promises, so concurrent first requests of one client share a single bcrypt run instead of each paying for it.
  private readonly verdicts = new Map<string, Promise<boolean>>();
  private readonly tokenDigests: { digest: Buffer; name: string; role: Role }[];

  constructor(private readonly config: WebConfig) {
    this.tokenDigests = config.tokens.map((t) => ({ digest: sha256(t.token), name: t.name, role: t.role }));
  }

  /** Returns the principal for an Authorization header, or undefined when it is missing or wrong. */
  async authenticate(header: string | undefined): Promise<Principal | undefined> {
    if (!header) return undefined;
    const [scheme, value = ''] = header.split(/\s+/, 2) as [string, string?];
    if (/^bearer$/i.test(scheme)) return this.bearer(value);
    if (/^basic$/i.test(scheme)) return this.basic(value);
    return undefined;
  }

  private bearer(token: string): Principal | undefined {
    const digest = sha256(token);
    // Compare digests (equal length) in constant time, against every entry, so timing reveals nothing.
    let found: { name: string; role: Role } | undefined;
    for (const t of this.tokenDigests) if (timingSafeEqual(t.digest, digest)) found = t;
    return found ? { name: found.name, role: found.role, via: 'bearer' } : undefined;
  }

  private async basic(encoded: string): Promise<Principal | undefined> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.config.basicAuthUsers.get(user);
    const key = `${user}\u0000${sha256(password).toString('hex')}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = bcrypt.compare(password, hash ?? DUMMY_HASH).then((match) => match && hash !== undefined);
      if (this.verdicts.size >= CACHE_LIMIT) this.verdicts.clear();
      this.verdicts.set(key, verdict);
    }
    const ok = await verdict;
    return ok ? { name: user, role: this.config.userRoles.get(user) ?? 'viewer', via: 'basic' } : undefined;
  }
}

/**
 * Express middleware enforcing the role table of requiredRole: 401 with a WWW-Authenticate challenge for missing
 * or wrong credentials, 403 for a role that is too low. Without any configured credential everything is open
 * and requests run as an anonymous admin (the exporter's behaviour without --web.config.file).
 */
export function createAuthMiddleware(config: WebConfig): RequestHandler {
  const enabled = authEnabled(config);
  const auth = new Authenticator(config);
  const challenge =
    config.basicAuthUsers.size > 0
      ? 'Basic realm="etcd-monitor", charset="UTF-8"'
      : 'Bearer realm="etcd-monitor"';
  return (req: Request, res: Response, next) => {
    if (!enabled) {
      res.locals.principal = { name: 'anonymous', role: 'admin', via: 'anonymous' } satisfies Principal;
      next();
      return;
    }
    const needed = requiredRole(req.method, req.path, config);
    auth.authenticate(req.headers.authorization).then(
      (principal) => {
        if (principal) res.locals.principal = principal;
        if (needed === null) {
          next();
          return;
        }
        if (!principal) {
          res.set('WWW-Authenticate', challenge);
          sendError(res, 401, 'UNAUTHENTICATED', 'valid credentials are required');
          return;
        }
        if (!roleAllows(principal.role, needed)) {
          sendError(
            res,
            403,
            'FORBIDDEN',
            `role ${principal.role} may not ${req.method} ${req.path} (needs ${needed})`,
          );
          return;
        }
        next();
      },
      (err: unknown) => next(err),
    );
  };
}
