import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { sendError } from '../../http/errors.js';
import { AuthBusyError, BcryptQueue } from './bcrypt-queue.js';
import { CredentialCache } from './credential-cache.js';
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

/** Paths that answer without credentials: liveness and readiness probes (kubelet sends none). */
const OPEN_PATHS = new Set(['/health', '/ready']);
const BENCHMARK_API = '/api/v1/performance';

/**
 * The role a request needs, or null when it is open. With credentials configured everything needs them, the
 * landing page included, except /health, /ready, CORS preflights (browsers never send credentials on a
 * preflight, Fetch standard §4.8) and /metrics when `metrics_auth: false` is set explicitly. Reads need viewer;
 * mutations and the whole benchmark API (it writes to the watched cluster) need operator.
 */
export function requiredRole(
  method: string,
  path: string,
  config: Pick<WebConfig, 'metricsAuth'>,
): Role | null {
  // Express matches routes case-insensitively and ignores a trailing slash: decide on the same form.
  const p = path.toLowerCase().replace(/\/+$/, '') || '/';
  if (OPEN_PATHS.has(p) || method === 'OPTIONS') return null;
  if (p === '/metrics') return config.metricsAuth ? 'viewer' : null;
  if (p === BENCHMARK_API || p.startsWith(`${BENCHMARK_API}/`)) return 'operator';
  return isMutating(method) ? 'operator' : 'viewer';
}

/** Reads the principal the auth middleware attached to a response. */
export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** How long a verified Basic credential is remembered after its last use: several scrape intervals. */
const CACHE_TTL_MS = 120_000;
/** Verified credentials kept at most; only correct passwords get in, so this is users × clients. */
const CACHE_LIMIT = 256;

/** What the authenticator did, for tests and the benchmark (never which user or password). */
export interface AuthStats {
  /** bcrypt comparisons against a configured user's hash. */
  bcryptCompares: number;
  /** Comparisons against the stand-in hash for an unknown user, so it costs what a known one does. */
  dummyCompares: number;
  /** Basic credentials answered from the cache without bcrypt. */
  cacheHits: number;
  /** Requests refused with 429 because the bcrypt queue was full. */
  busy: number;
}

/** Highest bcrypt cost among the hashes ("$2y$10$..." → 10). */
const costOf = (hash: string): number => Number(hash.split('$')[2]);

/** Verifies basic-auth and bearer credentials against the web config. */
export class Authenticator {
  readonly stats: AuthStats = { bcryptCompares: 0, dummyCompares: 0, cacheHits: 0, busy: 0 };
  private readonly cache = new CredentialCache<Principal>(CACHE_TTL_MS, CACHE_LIMIT);
  // Concurrent first requests with the same credentials share one comparison.
  private readonly inflight = new Map<string, Promise<Principal | undefined>>();
  private readonly tokenDigests: { digest: Buffer; name: string; role: Role }[];
  private readonly dummyHash: string | undefined;

  constructor(
    private readonly config: WebConfig,
    private readonly bcrypt = new BcryptQueue(),
  ) {
    this.tokenDigests = config.tokens.map((t) => ({ digest: sha256(t.token), name: t.name, role: t.role }));
    // An unknown user is compared against a configured hash of the highest cost and always refused, so it costs
    // the same as a wrong password for a known user (user names cannot be probed by timing), with no hash to
    // compute at start-up. exporter-toolkit does the same with a fixed cost-10 hash.
    this.dummyHash = [...config.basicAuthUsers.values()].sort((a, b) => costOf(b) - costOf(a))[0];
  }

  /** Returns the principal for an Authorization header, or undefined when it is missing or wrong. */
  async authenticate(header: string | undefined): Promise<Principal | undefined> {
    if (!header) return undefined;
    const [scheme, value = ''] = header.split(/\s+/, 2) as [string, string?];
    if (/^bearer$/i.test(scheme)) return this.bearer(value);
    if (/^basic$/i.test(scheme)) return this.basic(value);
    return undefined;
  }

  close(): Promise<void> {
    return this.bcrypt.close();
  }

  private bearer(token: string): Principal | undefined {
    const digest = sha256(token);
    // Compare digests (equal length) in constant time, against every entry, so timing reveals nothing.
    let found: { name: string; role: Role } | undefined;
    for (const t of this.tokenDigests) if (timingSafeEqual(t.digest, digest)) found = t;
    return found ? { name: found.name, role: found.role, via: 'bearer' } : undefined;
  }

  private basic(encoded: string): Promise<Principal | undefined> | undefined {
    if (this.dummyHash === undefined) return undefined;
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const key = sha256(JSON.stringify([user, password])).toString('hex');
    const cached = this.cache.get(key);
    if (cached) {
      this.stats.cacheHits++;
      return Promise.resolve(cached);
    }
    let verdict = this.inflight.get(key);
    if (!verdict) {
      verdict = this.verify(user, password, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, verdict);
    }
    return verdict;
  }

  private async verify(user: string, password: string, key: string): Promise<Principal | undefined> {
    const hash = this.config.basicAuthUsers.get(user);
    let ok: boolean;
    try {
      ok = await this.bcrypt.compare(password, hash ?? (this.dummyHash as string));
    } catch (err) {
      if (err instanceof AuthBusyError) this.stats.busy++;
      throw err;
    }
    if (hash === undefined) {
      this.stats.dummyCompares++;
      return undefined;
    }
    this.stats.bcryptCompares++;
    if (!ok) return undefined;
    const principal: Principal = {
      name: user,
      role: this.config.userRoles.get(user) ?? 'viewer',
      via: 'basic',
    };
    this.cache.set(key, principal);
    return principal;
  }
}

/**
 * Express middleware enforcing the role table of requiredRole: 401 with a WWW-Authenticate challenge for missing
 * or wrong credentials, 403 for a role that is too low, 429 when the password checks are backed up. Open paths
 * are passed without looking at credentials, so they never cost a bcrypt. Without any configured credential
 * everything is open and requests run as an anonymous admin (the exporter's behaviour without --web.config.file).
 */
export function createAuthMiddleware(
  config: WebConfig,
  auth: Authenticator = new Authenticator(config),
): RequestHandler {
  const enabled = authEnabled(config);
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
    if (needed === null) {
      next();
      return;
    }
    auth.authenticate(req.headers.authorization).then(
      (principal) => {
        if (!principal) {
          res.set('WWW-Authenticate', challenge);
          sendError(res, 401, 'UNAUTHENTICATED', 'valid credentials are required');
          return;
        }
        res.locals.principal = principal;
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
      (err: unknown) => {
        if (err instanceof AuthBusyError) {
          res.set('Retry-After', '1');
          sendError(res, 429, err.code, err.message);
          return;
        }
        next(err);
      },
    );
  };
}
