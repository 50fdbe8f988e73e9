import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TlsMaterial {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

export interface TlsOptions {
  /** Names the server certificate is valid for; IP literals become IP SANs, the rest DNS SANs. */
  hosts?: string[];
}

// ECDSA P-256 keys are generated in milliseconds (RSA takes noticeably longer on a slow CI core) and Go 1.19's
// crypto/tls, which etcd 3.4 is built with, accepts them in both PKCS#8 and SEC1 form.
const KEY_ARGS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const DAYS = '7';

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(
      `openssl ${args[0]} failed: ${err instanceof Error ? err.message : String(err)}\n${stderr}`,
    );
  }
}

async function signLeaf(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  await openssl(
    ['req', '-new', ...KEY_ARGS, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject],
    dir,
  );
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      // A random serial avoids the shared ca.srl file, so both leaves can be signed concurrently.
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      DAYS,
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

/** Creates a throwaway CA plus a server (serverAuth+clientAuth) and a client (clientAuth) certificate in `dir`. */
export async function generateTlsMaterial(dir: string, opts: TlsOptions = {}): Promise<TlsMaterial> {
  const hosts = opts.hosts ?? ['127.0.0.1', 'localhost'];
  await mkdir(dir, { recursive: true });
  await openssl(
    [
      'req',
      '-x509',
      ...KEY_ARGS,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      DAYS,
      '-subj',
      '/CN=etcd-monitor test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  // Go ignores the CN since 1.15, so the SANs are what makes the server certificate match 127.0.0.1.
  const sans = hosts.map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  // etcd presents the server certificate as its client certificate when dialling peers, hence clientAuth.
  const serverExt = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth,clientAuth',
    `subjectAltName=${sans}`,
    '',
  ].join('\n');
  const clientExt = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
    '',
  ].join('\n');
  await Promise.all([
    signLeaf(dir, 'server', '/CN=etcd-server', serverExt),
    signLeaf(dir, 'client', '/CN=etcd-monitor-client', clientExt),
  ]);
  return {
    caFile: path.join(dir, 'ca.crt'),
    serverCertFile: path.join(dir, 'server.crt'),
    serverKeyFile: path.join(dir, 'server.key'),
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
  };
}
