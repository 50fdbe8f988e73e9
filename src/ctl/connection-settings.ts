import { hasTlsFiles } from '../etcd/tls-material.js';
import { parseDurationMs } from '../util/duration.js';
import { parseEndpoint } from '../util/endpoint.js';
import type { Args } from './actions.js';
import type { EtcdConnection } from './client.js';
import { CtlError } from './errors.js';

/**
 * Where a connection setting comes from, first found wins: the flag, etcdctl's ETCDCTL_* variable (so an
 * environment set up for etcdctl works unchanged), the exporter's ETCD_MONITOR_* variable of the same flag
 * (src/config/fields.ts envName), then the default.
 */
const ENV_SOURCES: Record<string, readonly string[]> = {
  endpoints: ['ETCDCTL_ENDPOINTS', 'ETCD_MONITOR_ENDPOINTS'],
  cacert: ['ETCDCTL_CACERT', 'ETCD_MONITOR_CACERT'],
  cert: ['ETCDCTL_CERT', 'ETCD_MONITOR_CERT'],
  key: ['ETCDCTL_KEY', 'ETCD_MONITOR_KEY'],
  user: ['ETCDCTL_USER', 'ETCD_MONITOR_USER'],
  'password-file': ['ETCD_MONITOR_PASSWORD_FILE'],
};
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';

function setting(a: Args, flag: string, env: NodeJS.ProcessEnv): string | undefined {
  if (a[flag] !== undefined) return String(a[flag]);
  for (const name of ENV_SOURCES[flag] ?? []) {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** Builds the connection from the ctl flags and environment; endpoints without a scheme get https when TLS files are given. */
export function connectionFromArgs(a: Args, env: NodeJS.ProcessEnv = process.env): EtcdConnection {
  const cert = setting(a, 'cert', env);
  const key = setting(a, 'key', env);
  const cacert = setting(a, 'cacert', env);
  const tls = {
    ...(cert ? { certFile: cert } : {}),
    ...(key ? { keyFile: key } : {}),
    ...(cacert ? { caFile: cacert } : {}),
  };
  const secure = hasTlsFiles(tls);
  const endpoints = (setting(a, 'endpoints', env) ?? DEFAULT_ENDPOINT)
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      try {
        return parseEndpoint(e, { scheme: secure ? 'https' : 'http' }).url;
      } catch (err) {
        throw new CtlError('USAGE', `--endpoints: ${(err as Error).message}`, { cause: err });
      }
    });
  let timeoutMs: number;
  try {
    timeoutMs = parseDurationMs(String(a['command-timeout'] ?? env['ETCDCTL_COMMAND_TIMEOUT'] ?? '5s'));
  } catch (err) {
    throw new CtlError('USAGE', `--command-timeout: ${(err as Error).message}`);
  }
  let user = setting(a, 'user', env);
  const passwordFile = setting(a, 'password-file', env);
  let password: string | undefined;
  // etcdctl's ETCDCTL_USER may be "name:password" and ETCDCTL_PASSWORD holds one: the environment is not
  // visible in `ps` the way arguments are, so it is accepted there (never from a flag).
  if (a.user === undefined && user !== undefined && env['ETCDCTL_USER'] === user && user.includes(':')) {
    password = user.slice(user.indexOf(':') + 1);
    user = user.slice(0, user.indexOf(':'));
  }
  if (user !== undefined && passwordFile === undefined && password === undefined) {
    password = env['ETCDCTL_PASSWORD'] || undefined;
  }
  if (user !== undefined && passwordFile === undefined && password === undefined) {
    throw new CtlError(
      'USAGE',
      '--user needs --password-file (passwords are never taken on the command line; ETCDCTL_PASSWORD works too)',
    );
  }
  return {
    endpoints,
    requestTimeoutMs: timeoutMs,
    ...(secure ? { tls } : {}),
    ...(user !== undefined
      ? {
          auth: {
            username: user,
            ...(passwordFile !== undefined ? { passwordFile } : { password: password as string }),
          },
        }
      : {}),
  };
}
