import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTlsFiles, loadTlsMaterial } from '../../src/etcd/tls-material.js';
import { ConfigError } from '../../src/util/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-tls-material-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

const CA = file('ca.crt', 'ca bytes');
const CERT = file('client.crt', 'cert bytes');
const KEY = file('client.key', 'key bytes');
const MISSING = path.join(dir, 'missing.pem');

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('loadTlsMaterial, the one reader of TLS files', () => {
  it('reads each given file into a buffer, and nothing without files', () => {
    const m = loadTlsMaterial({ caFile: CA, certFile: CERT, keyFile: KEY });
    expect(m?.ca?.toString()).toBe('ca bytes');
    expect(m?.cert?.toString()).toBe('cert bytes');
    expect(m?.key?.toString()).toBe('key bytes');
    expect(loadTlsMaterial({ caFile: CA })).toEqual({
      ca: Buffer.from('ca bytes'),
      cert: undefined,
      key: undefined,
    });
    expect(loadTlsMaterial(undefined)).toBeUndefined();
  });

  it.each([
    ['caFile', 'cacert', 'CA'],
    ['certFile', 'cert', 'certificate'],
    ['keyFile', 'key', 'key'],
  ] as const)(
    'an unreadable %s is a ConfigError naming the setting, the kind of file, its path and errno',
    (which, field, what) => {
      const err = thrown(() =>
        loadTlsMaterial({ caFile: CA, certFile: CERT, keyFile: KEY, [which]: MISSING }),
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe(field);
      expect((err as ConfigError).message).toBe(
        `invalid configuration: ${field}: cannot read ${what} file ${MISSING}: ENOENT`,
      );
      expect((err as ConfigError).cause).toMatchObject({ code: 'ENOENT' });
    },
  );

  it('a caller names its own settings and error kind', () => {
    const fields = { caFile: 'client_ca_file', certFile: 'cert_file', keyFile: 'key_file' };
    const err = thrown(() => loadTlsMaterial({ certFile: MISSING, keyFile: KEY }, fields));
    expect((err as ConfigError).field).toBe('cert_file');
    class Usage extends Error {}
    const own = thrown(() => loadTlsMaterial({ caFile: dir }, undefined, (_, message) => new Usage(message)));
    expect(own).toBeInstanceOf(Usage);
    expect((own as Error).message).toBe(`cannot read CA file ${dir}: EISDIR`);
  });

  it('hasTlsFiles: any of the three files', () => {
    expect(hasTlsFiles(undefined)).toBe(false);
    expect(hasTlsFiles({})).toBe(false);
    expect(hasTlsFiles({ caFile: '' })).toBe(false);
    expect(hasTlsFiles({ caFile: CA })).toBe(true);
    expect(hasTlsFiles({ certFile: CERT })).toBe(true);
    expect(hasTlsFiles({ keyFile: KEY })).toBe(true);
  });
});
