// etcdctl habits of the real `etcd-monitor ctl` process, compared with a real etcdctl (3.4 from Debian
// by default, 3.5 in the etcd-3.5 leg of scripts/test-legs.sh) on the same cluster.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';
import { ensureBuilt, runCli } from './process-helpers.js';

const execFileAsync = promisify(execFile);
let cluster: EtcdCluster;
let ep: string;
let refused: string;
let leaseId: string;

/** The environment without any ETCDCTL_* / ETCD_MONITOR_* setting of the runner leaking in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(ETCDCTL_|ETCD_MONITOR_)/.test(k)),
  );
  return { ...env, ...extra };
}

async function etcdctl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('etcdctl', [`--endpoints=${ep}`, ...args], {
    env: cleanEnv({ ETCDCTL_API: '3' }),
  });
  return stdout;
}

async function ours(
  args: string[],
  env = cleanEnv(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(['ctl', '--endpoints', ep, ...args], env);
}

beforeAll(async () => {
  await ensureBuilt();
  cluster = await startCluster({ size: 1 });
  ep = cluster.endpoints[0] as string;
  refused = `http://127.0.0.1:${await freePort()}`;
  await etcdctl(['put', 'wo/a', 'alpha']);
  await etcdctl(['put', 'wo/b', 'two words']);
  await etcdctl(['put', 'other', '1']);
  leaseId = /lease (\S+) granted/.exec(await etcdctl(['lease', 'grant', '600']))?.[1] as string;
  await etcdctl(['put', 'wo/leased', 'x', `--lease=${leaseId}`]);
}, 120_000);
afterAll(async () => {
  await cluster?.destroy();
});

describe('read-only commands print exactly what etcdctl prints', () => {
  // Nothing is written between the two runs, so revisions and headers are the same.
  const cases: string[][] = [
    ['get', '', '--prefix'],
    ['-w', 'json', 'get', '', '--prefix'],
    ['-w', 'fields', 'get', 'wo/a'],
    ['get', 'wo/', '--prefix', '--print-value-only'],
    ['get', 'wo/', '--prefix', '--keys-only'],
    ['-w', 'json', 'get', 'wo/', '--prefix', '--keys-only'],
    ['get', '', '--from-key'],
    ['member', 'list'],
    ['-w', 'json', 'member', 'list'],
    ['-w', 'fields', 'member', 'list'],
    ['-w', 'table', 'member', 'list'],
    ['-w', 'json', 'endpoint', 'status'],
    ['-w', 'fields', 'endpoint', 'status'],
    ['endpoint', 'status'],
    ['lease', 'list'],
    ['-w', 'json', 'lease', 'list'],
    ['alarm', 'list'],
  ];
  for (const args of cases) {
    it(`ctl ${args.map((a) => (a === '' ? '""' : a)).join(' ')}`, async () => {
      const run = await ours(args);
      expect(run.code, run.stderr).toBe(0);
      // etcdctl 3.5.30 draws -w table with Unicode lines where 3.4 (and ours) use ASCII; same cells.
      const ascii = (t: string): string =>
        t
          .replace(/[┌┬┐├┼┤└┴┘]/g, '+')
          .replace(/─/g, '-')
          .replace(/│/g, '|');
      expect(run.stdout).toBe(ascii(await etcdctl(args)));
    }, 60_000);
  }

  it('lease timetolive --keys in simple and json', async () => {
    for (const args of [
      ['lease', 'timetolive', leaseId, '--keys'],
      ['-w', 'json', 'lease', 'timetolive', leaseId, '--keys'],
    ]) {
      const run = await ours(args);
      expect(run.code, run.stderr).toBe(0);
      // The remaining TTL may tick between the two runs; everything else must agree.
      const norm = (t: string): string => t.replace(/remaining\(\d+s\)|"ttl":\d+/, 'TTL');
      expect(norm(run.stdout)).toBe(norm(await etcdctl(args)));
    }
  }, 60_000);

  it('endpoint health: same JSON keys and simple wording', async () => {
    const run = await ours(['-w', 'json', 'endpoint', 'health']);
    expect(run.code, run.stderr).toBe(0);
    const theirs = JSON.parse(await etcdctl(['-w', 'json', 'endpoint', 'health'])) as object[];
    const mine = JSON.parse(run.stdout) as object[];
    expect(mine.map((h) => Object.keys(h))).toEqual(theirs.map((h) => Object.keys(h)));
    const simple = await ours(['endpoint', 'health']);
    expect(simple.stdout).toMatch(
      new RegExp(`^${ep} is healthy: successfully committed proposal: took = [\\d.]+ms\\n$`),
    );
  }, 60_000);
});

describe('writes print what etcdctl prints (revisions differ by one write)', () => {
  const norm = (t: string): string => t.replace(/"revision":\d+|"Revision" : \d+/g, 'REV');
  for (const args of [
    ['put', 'wo/w', 'v'],
    ['-w', 'json', 'put', 'wo/w', 'v'],
    ['-w', 'fields', 'put', 'wo/w', 'v'],
    ['-w', 'json', 'put', 'wo/w', 'v', '--prev-kv'],
    ['del', 'wo/none'],
    ['-w', 'json', 'del', 'wo/none'],
    ['-w', 'fields', 'del', 'wo/none'],
  ]) {
    it(`ctl ${args.join(' ')}`, async () => {
      const run = await ours(args);
      expect(run.code, run.stderr).toBe(0);
      const theirs = await etcdctl(args);
      // Each run overwrote the key once more: its previous mod_revision and version differ.
      expect(norm(run.stdout).replace(/"mod_revision":\d+,"version":\d+,/, '')).toBe(
        norm(theirs).replace(/"mod_revision":\d+,"version":\d+,/, ''),
      );
    }, 60_000);
  }

  it('del "" --prefix deletes every key and prints the count, as etcdctl', async () => {
    const listed = JSON.parse(await etcdctl(['-w', 'json', 'get', '', '--prefix'])) as { count: number };
    const before = listed.count;
    expect(before).toBeGreaterThan(0);
    const run = await ours(['del', '', '--prefix']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(`${before}\n`);
    expect(await etcdctl(['get', '', '--prefix'])).toBe('');
    await etcdctl(['put', 'wo/a', 'alpha']);
  }, 60_000);

  it('-w fields on a command without that form is refused before anything is done (exit 2)', async () => {
    const run = await ours(['-w', 'fields', 'cas', 'wo/cas', 'new', '--expect-absent']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe('etcd-monitor ctl: fields is not supported as output format by cas');
    expect(await etcdctl(['get', 'wo/cas'])).toBe('');
  }, 60_000);

  it("-w json on a command etcdctl has no JSON form for prints the project's JSON", async () => {
    const run = await ours(['-w', 'json', 'cas', 'wo/cas-json', 'v', '--expect-absent']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ succeeded: true });
  }, 60_000);

  it('-w together with --output is a usage error (exit 2)', async () => {
    const run = await ours(['-w', 'json', '--output', 'table', 'get', 'wo/a']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('either -w/--write-out');
  }, 60_000);
});

describe('ETCDCTL_* environment: flag > ETCDCTL_* > ETCD_MONITOR_* > default', () => {
  it('ETCDCTL_ENDPOINTS is used when no --endpoints flag is given', async () => {
    const run = await runCli(['ctl', 'get', 'wo/a'], cleanEnv({ ETCDCTL_ENDPOINTS: ep }));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('wo/a\nalpha\n');
  }, 60_000);

  it('the --endpoints flag wins over ETCDCTL_ENDPOINTS', async () => {
    const run = await runCli(
      ['ctl', '--endpoints', ep, 'get', 'wo/a'],
      cleanEnv({ ETCDCTL_ENDPOINTS: refused }),
    );
    expect(run.code, run.stderr).toBe(0);
  }, 60_000);

  it('ETCDCTL_ENDPOINTS wins over ETCD_MONITOR_ENDPOINTS, which is used alone', async () => {
    const both = await runCli(
      ['ctl', '--command-timeout', '2s', 'get', 'wo/a'],
      cleanEnv({ ETCDCTL_ENDPOINTS: refused, ETCD_MONITOR_ENDPOINTS: ep }),
    );
    expect(both.code).toBe(4);
    expect(both.stderr).toContain('ECONNREFUSED');
    const alone = await runCli(['ctl', 'get', 'wo/a'], cleanEnv({ ETCD_MONITOR_ENDPOINTS: ep }));
    expect(alone.code, alone.stderr).toBe(0);
  }, 60_000);

  it('ETCDCTL_CACERT/CERT/KEY are read (a missing file is named, exit 2)', async () => {
    const run = await runCli(
      ['ctl', 'get', 'wo/a'],
      cleanEnv({
        ETCDCTL_ENDPOINTS: ep,
        ETCDCTL_CACERT: '/nonexistent/ca.crt',
        ETCDCTL_CERT: '/nonexistent/c.crt',
        ETCDCTL_KEY: '/nonexistent/c.key',
      }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('/nonexistent/');
  }, 60_000);
});
