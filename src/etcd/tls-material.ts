import { readFileSync } from 'node:fs';
import type { TlsFiles } from '../config/types.js';

/** TLS material read once from the configured files. */
export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

/** Reads the TLS files of a cluster; errors name the file so a bad mount is obvious. */
export function loadTlsMaterial(files: TlsFiles | undefined): TlsMaterial | undefined {
  if (!files) return undefined;
  const read = (path: string | undefined) => (path ? readFileSync(path) : undefined);
  return { ca: read(files.caFile), cert: read(files.certFile), key: read(files.keyFile) };
}
