import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCtl } from '../../src/ctl/commands.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { BIN } from '../cli/built-cli.js';
import { ensureBuilt, runCli } from './process-helpers.js';

const execFileAsync = promisify(execFile);
const PASSWORD = 's3cret-Pa55-not-in-output';

let cluster: EtcdCluster;
let tmp: string;
let tlsArgs: string[];
let passwordFile: string;
let wrongPasswordFile: string;

/** Runs the real binary entry as a child process, the way an operator or a script would. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [BIN, ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function etcdctl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    'etcdctl',
    [`--endpoints=${cluster.endpoints.join(',')}`, ...tlsArgs, ...args],
    {
      env: { ...process.env, ETCDCTL_API: '3' },
    },
  );
  return stdout;
}

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startCluster({ size: 3, tls: true });
  const tls = cluster.tls as { caFile: string; certFile: string; keyFile: string };
  tlsArgs = [`--cacert=${tls.caFile}`, `--cert=${tls.certFile}`, `--key=${tls.keyFile}`];
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ctl-tls-auth-'));
  passwordFile = path.join(tmp, 'password');
  wrongPasswordFile = path.join(tmp, 'wrong');
  // Written like `echo pw > file` / a Kubernetes secret would be: the trailing newline is not part of it.
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  await writeFile(wrongPasswordFile, 'nope', { mode: 0o600 });
  await etcdctl(['put', 'tls/before-auth', 'plain']);
}, 120_000);
afterAll(async () => {
  await cluster?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('ctl over mutual TLS', () => {
  it('reads through https endpoints with --cacert/--cert/--key (child process)', async () => {
    const run = await cli([
      'ctl',
      '--endpoints',
      cluster.endpoints.join(','),
      ...tlsArgs,
      '--output',
      'json',
      'get',
      'tls/before-auth',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).kvs[0].value).toBe('plain');
  });

  it('fails as unavailable (exit 4) without the client certificate the members demand', async () => {
    const tls = cluster.tls as { caFile: string };
    const run = await runCtl([
      '--endpoints',
      cluster.endpoints.join(','),
      '--cacert',
      tls.caFile,
      '--command-timeout',
      '3s',
      'get',
      'tls/before-auth',
    ]);
    expect(run.code).toBe(4);
  });

  it('rejects a certificate without its key as a usage error (exit 2)', async () => {
    const tls = cluster.tls as { caFile: string; certFile: string };
    const run = await runCtl([
      '--endpoints',
      cluster.endpoints.join(','),
      '--cacert',
      tls.caFile,
      '--cert',
      tls.certFile,
      'get',
      'x',
    ]);
    expect(run.code).toBe(2);
  });
});

describe('ctl with etcd authentication', () => {
  beforeAll(async () => {
    await etcdctl(['user', 'add', `root:${PASSWORD}`]);
    await etcdctl(['auth', 'enable']);
  });

  it('authenticates with --user and --password-file and never prints the password (child process)', async () => {
    const base = [
      'ctl',
      '--endpoints',
      cluster.endpoints.join(','),
      ...tlsArgs,
      '--user',
      'root',
      '--password-file',
      passwordFile,
    ];
    const put = await cli([...base, 'put', 'auth/k', 'v']);
    expect(put.code, put.stderr).toBe(0);
    const get = await cli([...base, '--output', 'json', 'get', 'auth/k']);
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).kvs[0].value).toBe('v');
    for (const out of [put, get]) expect(out.stdout + out.stderr).not.toContain(PASSWORD);
  });

  it('takes the connection and credentials from ETCDCTL_* variables, as etcdctl does (child process)', async () => {
    const tls = cluster.tls as { caFile: string; certFile: string; keyFile: string };
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !/^(ETCDCTL_|ETCD_MONITOR_)/.test(k)),
    );
    const run = await runCli(['ctl', 'get', 'auth/k', '--print-value-only'], {
      ...env,
      ETCDCTL_ENDPOINTS: cluster.endpoints.join(','),
      ETCDCTL_CACERT: tls.caFile,
      ETCDCTL_CERT: tls.certFile,
      ETCDCTL_KEY: tls.keyFile,
      ETCDCTL_USER: `root:${PASSWORD}`,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('v\n');
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('exits 5 for a wrong password, without echoing either password', async () => {
    const run = await cli([
      'ctl',
      '--endpoints',
      cluster.endpoints.join(','),
      ...tlsArgs,
      '--user',
      'root',
      '--password-file',
      wrongPasswordFile,
      'get',
      'auth/k',
    ]);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/authentication failed/);
    expect(run.stdout + run.stderr).not.toMatch(/nope|s3cret/);
  });

  it('exits 5 when the certificate CN user has no permission', async () => {
    // With client-cert auth, etcd takes the certificate's CN as the user when no password is given.
    const run = await runCtl(['--endpoints', cluster.endpoints.join(','), ...tlsArgs, 'get', 'auth/k']);
    expect(run.code).toBe(5);
  });

  it('requires --password-file with --user (no passwords on the command line) and a readable file', async () => {
    const noFile = await runCtl([
      '--endpoints',
      cluster.endpoints.join(','),
      ...tlsArgs,
      '--user',
      'root',
      'get',
      'auth/k',
    ]);
    expect(noFile.code).toBe(2);
    const missing = await runCtl([
      '--endpoints',
      cluster.endpoints.join(','),
      ...tlsArgs,
      '--user',
      'root',
      '--password-file',
      path.join(tmp, 'absent'),
      'get',
      'auth/k',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read password file');
  });
});

describe('ctl usage errors', () => {
  it('exits 2 for an unknown subcommand or a missing argument (child process)', async () => {
    const run = await cli(['ctl', 'frobnicate']);
    expect(run.code).toBe(2);
    const missing = await runCtl(['put', 'only-a-key']);
    expect(missing.code).toBe(2);
  });
});
