import { readFileSync } from 'node:fs';
import type { TlsFiles } from '../config/types.js';
import { ConfigError } from '../util/errors.js';

/** TLS material read once from the configured files. */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/**
 * The setting each file comes from, as errors name it. By default the name that is both the flag and the
 * YAML key (config loading already named the exact place when it checked the files were readable).
 */
export type TlsFileFields = Readonly<Record<keyof TlsFiles, string>>;

const SETTINGS: TlsFileFields = { caFile: 'cacert', certFile: 'cert', keyFile: 'key' };
const WHAT: Readonly<Record<keyof TlsFiles, string>> = {
  caFile: 'CA',
  certFile: 'certificate',
  keyFile: 'key',
};

/** Builds the error for a file that cannot be read; ConfigError unless the caller has its own kind. */
export type TlsFileFailure = (field: string, message: string, cause: unknown) => Error;

/**
 * Reads the TLS files (CA bundle, client or server certificate, private key) into buffers: the one
 * reader for the exporter's clients, the load generator, `ctl` and the exporter's own HTTPS server. An
 * unreadable file fails with an error naming the setting, the kind of file and its path, and the errno
 * code (`cannot read CA file /etc/etcd/ca.crt: ENOENT`); never its content.
 */
export function loadTlsMaterial(
  files: TlsFiles | undefined,
  fields: TlsFileFields = SETTINGS,
  fail: TlsFileFailure = (field, message, cause) => new ConfigError(field, message, { cause }),
): TlsMaterial | undefined {
  if (!files) return undefined;
  const read = (which: keyof TlsFiles): Buffer | undefined => {
    const path = files[which];
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw fail(fields[which], `cannot read ${WHAT[which]} file ${path}: ${code}`, err);
    }
  };
  return { ca: read('caFile'), cert: read('certFile'), key: read('keyFile') };
}

/** Whether any TLS file is given: a bare `host:port` endpoint is then dialled over https. */
export function hasTlsFiles(files: TlsFiles | undefined): boolean {
  return Boolean(files?.caFile || files?.certFile || files?.keyFile);
}
