import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELDS, type FieldSpec } from '../../src/config/fields.js';
import { parseDurationMs } from '../../src/util/duration.js';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { BIN, REPO, STACK_FRAME, cli, ensureBuilt, run } from './built-cli.js';

// The command as a user runs it (bin/etcd-monitor.js over dist/, built from the sources under test):
// --version, -h, help text, usage errors, one-line errors for a busy port and an unusable data dir.

const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-cli-'));
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
let head: string;

beforeAll(async () => {
  await ensureBuilt();
  head = (await run('git', ['rev-parse', 'HEAD'], { cwd: REPO })).stdout.trim();
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--version and -h', () => {
  it('--version prints version, commit, Node.js version and platform like node_exporter, exit 0', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    // dist/build-info.json records the commit dist/ was built from (-dirty with uncommitted changes).
    expect(lines[0]).toMatch(
      new RegExp(
        `^etcd-monitor, version ${pkg.version.replace(/\./g, '\\.')} \\(revision: ${head}(-dirty)?\\)$`,
      ),
    );
    expect(lines).toContain(`  node version:     ${process.version}`);
    expect(lines).toContain(`  platform:         ${process.platform}/${process.arch}`);
    expect(lines.some((l) => /^ {2}build date: {7}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(l))).toBe(true);
  });

  it('from a checkout through tsx (no dist/build-info.json next to src/) the commit comes from git', async () => {
    const r = await cli(['--import', 'tsx', 'src/cli.ts', '--version'], { bin: process.execPath });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`etcd-monitor, version ${pkg.version} (revision: ${head})`);
  });

  it('-h is --help', async () => {
    const [short, long] = await Promise.all([cli(['-h']), cli(['--help'])]);
    expect(short.code).toBe(0);
    expect(short.stdout).toBe(long.stdout);
    expect(short.stdout).toMatch(/^\s+-h, --help\s+Show help/m);
    expect(short.stdout).toMatch(/^\s+--version\s+Show the version/m);
    // every command is listed
    for (const c of ['serve', 'ctl <command>', 'bench', 'disk-check', 'check', 'completion <shell>'])
      expect(short.stdout).toContain(`etcd-monitor ${c}`);
  });
});

describe('help text', () => {
  /** `[default: X]` of `--flag` in a help text (yargs may wrap a long line; flags are one per entry). */
  function shownDefault(help: string, flag: string): string | undefined {
    const entry = help.split(/\n(?=\s+(?:-\w, )?--)/).find((e) => new RegExp(`^\\s+--${flag}\\s`).test(e));
    return entry ? /\[default: ([^\]]+)\]/.exec(entry.replace(/\s+/g, ' '))?.[1] : undefined;
  }
  const durationFields = (Object.values(FIELDS) as FieldSpec[]).filter((s) => s.kind === 'duration');

  it('shows each duration default as a duration that reads back as the default (30s, not 30000)', async () => {
    const help = (await cli(['serve', '--help'])).stdout;
    expect(durationFields.length).toBeGreaterThanOrEqual(6);
    for (const spec of durationFields) {
      const shown = shownDefault(help, spec.flag);
      expect(shown, `--${spec.flag}`).toMatch(/^\d+(ms|s|m|h)$/);
      // What a user copies from the help must set the default again (a bare 30000 meant 30000 seconds).
      expect(parseDurationMs(shown!), `--${spec.flag} [default: ${shown}]`).toBe(spec.defaultValue);
    }
    expect(shownDefault(help, 'health-check-interval')).toBe('30s');
    expect(shownDefault(help, 'hashkv-interval')).toBe('5m');
  });

  it('each subcommand lists its own flags only', async () => {
    const [serve, bench, check, disk, ctlGet] = await Promise.all([
      cli(['serve', '--help']),
      cli(['bench', '--help']),
      cli(['check', '--help']),
      cli(['disk-check', '--help']),
      cli(['ctl', 'get', '--help']),
    ]);
    for (const r of [serve, bench, check, disk, ctlGet]) expect(r.code).toBe(0);
    const flags = (text: string) =>
      new Set([...text.matchAll(/^\s+(?:-\w, )?--([\w.-]+)/gm)].map((m) => m[1]));
    const server = [
      'api-port',
      'api-host',
      'probe',
      'max-latency-ms',
      'health-check-interval',
      'web.config.file',
    ];
    for (const f of server) expect(flags(serve.stdout), `serve --${f}`).toContain(f);
    for (const [name, r] of [
      ['bench', bench],
      ['check', check],
      ['disk-check', disk],
      ['ctl get', ctlGet],
    ] as const) {
      for (const f of server) expect(flags(r.stdout), `${name} --help lists --${f}`).not.toContain(f);
    }
    for (const f of ['endpoints', 'cacert', 'ops', 'clients', 'data-dir', 'save'])
      expect(flags(bench.stdout), `bench --${f}`).toContain(f);
    for (const f of ['endpoints', 'cacert', 'with-benchmark']) expect(flags(check.stdout)).toContain(f);
    expect(flags(check.stdout)).not.toContain('data-dir');
    expect(flags(disk.stdout)).not.toContain('endpoints');
    for (const f of ['prefix', 'rev', 'endpoints', 'command-timeout'])
      expect(flags(ctlGet.stdout)).toContain(f);
    // bench's own flags are not the exporter's
    expect(flags(serve.stdout)).not.toContain('ops');
  });

  it('a server flag given to bench is refused with exit 2, naming it', async () => {
    const r = await cli(['bench', '--api-port', '9000']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'etcd-monitor: Unknown flag --api-port (run "etcd-monitor bench --help" for usage)\n',
    );
  });
});

describe('usage errors name what was typed, suggest the closest, exit 2', () => {
  const cases: [string[], string][] = [
    [['ctl', 'gett', 'foo'], 'Unknown command "gett" for "etcd-monitor ctl" — did you mean "get"?'],
    [['bnch'], 'Unknown command "bnch" for "etcd-monitor" — did you mean "bench"?'],
    // bench's module is not loaded for a first word that is a flag; the typo is still compared with it
    [
      ['--endpoints=http://127.0.0.1:1', 'bnch'],
      'Unknown command "bnch" for "etcd-monitor" — did you mean "bench"?',
    ],
    [
      ['ctl', 'lease', 'grnat', '60'],
      'Unknown command "grnat" for "etcd-monitor ctl lease" — did you mean "grant"?',
    ],
    [
      ['ctl', '--endpoints', 'http://127.0.0.1:1', 'memebr', 'list'],
      'Unknown command "memebr" for "etcd-monitor ctl" — did you mean "member"?',
    ],
    [
      ['--max-latncy-ms', '100'],
      'Unknown flag --max-latncy-ms — did you mean --max-latency-ms? (run "etcd-monitor --help" for usage)',
    ],
    [
      ['ctl', 'get', 'k', '--prefx'],
      'Unknown flag --prefx — did you mean --prefix? (run "etcd-monitor ctl get --help" for usage)',
    ],
    [
      ['frobnicate'],
      'Unknown command "frobnicate" for "etcd-monitor" (commands: serve, ctl, bench, disk-check, check, completion)',
    ],
  ];
  it.each(cases)('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.stderr).toBe(`etcd-monitor: ${message}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('a missing subcommand lists the ones there are', async () => {
    const r = await cli(['ctl']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^etcd-monitor: "etcd-monitor ctl" needs a command: get, put, del, /);
    expect(r.stderr).not.toContain('invalid configuration');
  });

  it('a bad configuration value still says "invalid configuration" and names the field', async () => {
    const r = await cli(['--max-latency-ms', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'etcd-monitor: invalid configuration: --max-latency-ms: expected a whole number, got "abc"\n',
    );
  });
});

describe('one-line errors for what the user can fix', () => {
  it('a busy API port: one line naming address and EADDRINUSE, exit 1, no stack trace', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = await cli(
        [
          '--api-host',
          '127.0.0.1',
          '--api-port',
          String(port),
          '--endpoints',
          '127.0.0.1:1',
          '--data-dir',
          dir,
        ],
        { timeoutMs: 60_000 },
      );
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr).not.toMatch(STACK_FRAME);
      expect(r.stderr).toContain(
        `etcd-monitor: cannot listen on 127.0.0.1:${port}: address already in use (another process listens there; pick another port) (EADDRINUSE)\n`,
      );
      expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^etcd-monitor: cannot listen on/);
    } finally {
      holder.close();
    }
  });

  describe('a --data-dir that cannot be created', () => {
    let cluster: EtcdCluster;
    let blocker: string;
    beforeAll(async () => {
      cluster = await startCluster({ size: 1 });
      // A regular file where a directory should be: mkdir fails with ENOTDIR, even for root.
      blocker = path.join(dir, 'a-file');
      writeFileSync(blocker, 'not a directory\n');
    }, 120_000);
    afterAll(async () => {
      await cluster?.destroy();
    });

    it('bench --save: one line naming the path and the reason, before the run, exit 1, no stack trace', async () => {
      const dataDir = path.join(blocker, 'data');
      const r = await cli(
        [
          'bench',
          '--endpoints',
          cluster.endpoints.join(','),
          '--ops',
          '2000',
          '--save',
          '--data-dir',
          dataDir,
        ],
        { timeoutMs: 120_000 },
      );
      expect(r.stderr).not.toMatch(STACK_FRAME);
      expect(r.stderr).toBe(
        `etcd-monitor: cannot create directory ${dataDir}: a component of the path is a file, not a directory (ENOTDIR)\n`,
      );
      expect(r.code).toBe(1);
      // checked before the benchmark: no result was printed (and then lost)
      expect(r.stdout).toBe('');
    });

    it('bench --save into a usable data dir appends the result (the check before the run creates nothing else)', async () => {
      const dataDir = path.join(dir, 'saved');
      const r = await cli(
        ['bench', '--endpoints', cluster.endpoints.join(','), '--ops', '50', '--save', '--data-dir', dataDir],
        { timeoutMs: 120_000 },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(readdirSync(dataDir)).toEqual(['benchmark-results.jsonl']);
      const lines = readFileSync(path.join(dataDir, 'benchmark-results.jsonl'), 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        status: 'completed',
        result: { type: 'write', total: 50, failed: 0 },
      });
    });

    it('serve keeps running with the history in memory and says so in one log line, no stack trace', async () => {
      const dataDir = path.join(blocker, 'data');
      const child = cli(
        [
          '--endpoints',
          cluster.endpoints.join(','),
          '--data-dir',
          dataDir,
          '--api-port',
          '0',
          '--api-host',
          '127.0.0.1',
        ],
        { timeoutMs: 10_000 },
      );
      const r = await child;
      // Killed by the timeout: it did not exit on its own.
      expect(r.signal).toBe('SIGKILL');
      const all = r.stdout + r.stderr;
      expect(all).not.toMatch(STACK_FRAME);
      const lines = all.split('\n').filter((l) => l.includes(`cannot use --data-dir ${dataDir}`));
      expect(lines.length).toBe(2); // the alert history and the leader history
      expect(all).toContain('"msg":"etcd-monitor listening"');
    });
  });
});

describe('bin/etcd-monitor.js', () => {
  it('is what package.json names as the etcd-monitor command', () => {
    const p = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(path.join(REPO, p.bin['etcd-monitor']!)).toBe(BIN);
  });
});
