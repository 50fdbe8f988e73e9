import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { ConfigError } from '../../util/errors.js';

/** What a caller may do: viewer reads, operator also mutates (benchmarks, alerts, operations), admin everything. */
export type Role = 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** exporter-toolkit's client_auth_type values (Go crypto/tls ClientAuthType names). */
export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';
const CLIENT_AUTH_TYPES: readonly ClientAuthType[] = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
];
const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;

export interface TlsServerConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile?: string;
  readonly clientAuthType: ClientAuthType;
  readonly minVersion: (typeof TLS_VERSIONS)[keyof typeof TLS_VERSIONS];
}

/** A bearer token; `token` is the secret read from `token_file`, kept out of logs and errors. */
export interface TokenEntry {
  readonly name: string;
  readonly token: string;
  readonly role: Role;
}

/** The parsed --web.config.file. */
export interface WebConfig {
  readonly tls?: TlsServerConfig;
  /** user → bcrypt hash, as in exporter-toolkit. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** user → role; basic-auth users not listed here are viewers. */
  readonly userRoles: ReadonlyMap<string, Role>;
  readonly tokens: readonly TokenEntry[];
  /**
   * Whether /metrics needs credentials (viewer) when users or tokens are configured: on unless the web config
   * says `metrics_auth: false`, as exporter-toolkit's basic_auth_users protect every path.
   */
  readonly metricsAuth: boolean;
  /** Where the audit log goes; stderr when unset. */
  readonly auditLogFile?: string;
}

/** True when any credential is configured, i.e. requests must authenticate. */
export function authEnabled(c: WebConfig): boolean {
  return c.basicAuthUsers.size > 0 || c.tokens.length > 0;
}

/** The config of a server started without --web.config.file: plain HTTP, no authentication. */
export const OPEN_WEB_CONFIG: WebConfig = {
  basicAuthUsers: new Map(),
  userRoles: new Map(),
  tokens: [],
  metricsAuth: false,
};

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads an exporter-toolkit web config (tls_server_config, basic_auth_users) plus this exporter's own
 * `etcd_monitor:` section (bearer tokens with roles, roles of basic-auth users, metrics_auth, audit_log_file).
 * Relative file paths are resolved against the config file's directory, as exporter-toolkit does.
 */
export function loadWebConfig(file: string): WebConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      '--web.config.file',
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  let doc: unknown;
  try {
    doc = yaml.load(text) ?? {};
  } catch (err) {
    throw new ConfigError(
      '--web.config.file',
      `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return parseWebConfig(doc, path.dirname(path.resolve(file)));
}

/** Validates a parsed web config document; `baseDir` anchors relative paths. */
export function parseWebConfig(doc: unknown, baseDir: string): WebConfig {
  const where = (k: string): string => `web config ${k}`;
  if (!isObj(doc)) throw new ConfigError(where('root'), 'must be a mapping');
  only(doc, ['tls_server_config', 'basic_auth_users', 'http_server_config', 'etcd_monitor'], 'web config');
  const resolve = (p: string): string => path.resolve(baseDir, p);

  let tls: TlsServerConfig | undefined;
  if (doc.tls_server_config !== undefined && doc.tls_server_config !== null) {
    const t = doc.tls_server_config;
    if (!isObj(t)) throw new ConfigError(where('tls_server_config'), 'must be a mapping');
    only(
      t,
      ['cert_file', 'key_file', 'client_ca_file', 'client_auth_type', 'min_version'],
      'tls_server_config',
    );
    const certFile = str(t.cert_file, 'tls_server_config.cert_file');
    const keyFile = str(t.key_file, 'tls_server_config.key_file');
    const clientCa =
      t.client_ca_file === undefined ? undefined : str(t.client_ca_file, 'tls_server_config.client_ca_file');
    const authType = (t.client_auth_type ??
      (clientCa ? 'RequireAndVerifyClientCert' : 'NoClientCert')) as ClientAuthType;
    if (!CLIENT_AUTH_TYPES.includes(authType)) {
      throw new ConfigError(
        where('tls_server_config.client_auth_type'),
        `must be one of ${CLIENT_AUTH_TYPES.join(', ')}`,
      );
    }
    if ((authType === 'VerifyClientCertIfGiven' || authType === 'RequireAndVerifyClientCert') && !clientCa) {
      throw new ConfigError(
        where('tls_server_config.client_ca_file'),
        `is required with client_auth_type ${authType}`,
      );
    }
    const minKey = (t.min_version ?? 'TLS12') as keyof typeof TLS_VERSIONS;
    if (!(minKey in TLS_VERSIONS))
      throw new ConfigError(where('tls_server_config.min_version'), 'must be TLS10..TLS13');
    tls = {
      certFile: resolve(certFile),
      keyFile: resolve(keyFile),
      ...(clientCa ? { clientCaFile: resolve(clientCa) } : {}),
      clientAuthType: authType,
      minVersion: TLS_VERSIONS[minKey],
    };
  }

  const basicAuthUsers = new Map<string, string>();
  if (doc.basic_auth_users !== undefined && doc.basic_auth_users !== null) {
    if (!isObj(doc.basic_auth_users))
      throw new ConfigError(where('basic_auth_users'), 'must map user names to bcrypt hashes');
    for (const [user, hash] of Object.entries(doc.basic_auth_users)) {
      if (typeof hash !== 'string' || !/^\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
        // Never echo the value: it may be a plaintext password pasted by mistake.
        throw new ConfigError(where(`basic_auth_users.${user}`), 'must be a bcrypt hash ($2y$10$...)');
      }
      basicAuthUsers.set(user, hash);
    }
  }

  const ext = doc.etcd_monitor ?? {};
  if (!isObj(ext)) throw new ConfigError(where('etcd_monitor'), 'must be a mapping');
  only(ext, ['tokens', 'basic_auth_roles', 'metrics_auth', 'audit_log_file'], 'etcd_monitor');
  const userRoles = new Map<string, Role>();
  if (ext.basic_auth_roles !== undefined) {
    if (!isObj(ext.basic_auth_roles))
      throw new ConfigError(where('etcd_monitor.basic_auth_roles'), 'must map users to roles');
    for (const [user, role] of Object.entries(ext.basic_auth_roles)) {
      if (!basicAuthUsers.has(user))
        throw new ConfigError(where(`etcd_monitor.basic_auth_roles.${user}`), 'is not in basic_auth_users');
      userRoles.set(user, parseRole(role, `etcd_monitor.basic_auth_roles.${user}`));
    }
  }
  const tokens: TokenEntry[] = [];
  if (ext.tokens !== undefined) {
    if (!Array.isArray(ext.tokens)) throw new ConfigError(where('etcd_monitor.tokens'), 'must be a list');
    ext.tokens.forEach((entry: unknown, i) => {
      const at = `etcd_monitor.tokens[${i}]`;
      if (!isObj(entry)) throw new ConfigError(where(at), 'must be a mapping');
      only(entry, ['name', 'token_file', 'role'], at);
      const name = str(entry.name, `${at}.name`);
      if (tokens.some((t) => t.name === name) || basicAuthUsers.has(name))
        throw new ConfigError(where(`${at}.name`), `"${name}" is used twice`);
      tokens.push({
        name,
        token: readToken(resolve(str(entry.token_file, `${at}.token_file`)), at),
        role: parseRole(entry.role, `${at}.role`),
      });
    });
  }
  if (ext.metrics_auth !== undefined && typeof ext.metrics_auth !== 'boolean') {
    throw new ConfigError(where('etcd_monitor.metrics_auth'), 'must be true or false');
  }
  const audit =
    ext.audit_log_file === undefined
      ? undefined
      : resolve(str(ext.audit_log_file, 'etcd_monitor.audit_log_file'));
  return {
    ...(tls ? { tls } : {}),
    basicAuthUsers,
    userRoles,
    tokens,
    metricsAuth: ext.metrics_auth !== false,
    ...(audit ? { auditLogFile: audit } : {}),
  };
}

function only(obj: Obj, allowed: string[], at: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new ConfigError(`web config ${at}`, `unknown field(s): ${extra.join(', ')}`);
}

function str(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(`web config ${at}`, 'must be a non-empty string');
  return v;
}

function parseRole(v: unknown, at: string): Role {
  if (!ROLES.includes(v as Role))
    throw new ConfigError(`web config ${at}`, `must be one of ${ROLES.join(', ')}`);
  return v as Role;
}

function readToken(file: string, at: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(
      `web config ${at}.token_file`,
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  // Short tokens are guessable; 16 characters is the floor even for test setups.
  if (token.length < 16)
    throw new ConfigError(`web config ${at}.token_file`, `token in ${file} is shorter than 16 characters`);
  return token;
}
