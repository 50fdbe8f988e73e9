import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

// ECDSA P-256, as in tls.ts: generated in milliseconds, accepted by Go 1.19 and Node.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** PEM certificate and key. */
export interface Pair {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Certificates that each break one rule a TLS client checks, all for 127.0.0.1 unless said otherwise. */
export interface FaultyTls {
  readonly ca: Buffer;
  readonly caFile: string;
  /** Signed by `ca`, valid now: the control case. */
  readonly good: Pair;
  /** Signed by `ca`, notAfter one day before notBefore (openssl x509 -days -1): CERT_HAS_EXPIRED. */
  readonly expired: Pair;
  /** Signed by `ca`, valid, but its only SAN is DNS:elsewhere.invalid: ERR_TLS_CERT_ALTNAME_INVALID. */
  readonly wrongHost: Pair;
  /** Valid for 127.0.0.1 but signed by a CA nobody trusts: UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  readonly untrusted: Pair;
  /** A client certificate signed by `ca`. */
  readonly client: Pair;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')}: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
}

async function caCert(dir: string, name: string): Promise<void> {
  await openssl(
    [
      'req',
      '-x509',
      ...KEY_ARGS,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '7',
      '-subj',
      `/CN=etcd-monitor ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

async function leaf(dir: string, name: string, ca: string, days: string, ext: string): Promise<Pair> {
  await openssl(
    ['req', '-new', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
    dir,
  );
  await writeFile(path.join(dir, `${name}.ext`), ext);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      days,
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  return { cert: await readFile(certFile), key: await readFile(keyFile), certFile, keyFile };
}

const serverExt = (san: string): string =>
  `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${san}\n`;
const clientExt =
  'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n';

/** Creates the certificates of `FaultyTls` in `dir`. */
export async function generateFaultyTls(dir: string): Promise<FaultyTls> {
  await mkdir(dir, { recursive: true });
  await Promise.all([caCert(dir, 'ca'), caCert(dir, 'rogue-ca')]);
  const [good, expired, wrongHost, untrusted, client] = await Promise.all([
    leaf(dir, 'good', 'ca', '7', serverExt('IP:127.0.0.1')),
    leaf(dir, 'expired', 'ca', '-1', serverExt('IP:127.0.0.1')),
    leaf(dir, 'wrong-host', 'ca', '7', serverExt('DNS:elsewhere.invalid')),
    leaf(dir, 'untrusted', 'rogue-ca', '7', serverExt('IP:127.0.0.1')),
    leaf(dir, 'client', 'ca', '7', clientExt),
  ]);
  const caFile = path.join(dir, 'ca.crt');
  return { ca: await readFile(caFile), caFile, good, expired, wrongHost, untrusted, client };
}
