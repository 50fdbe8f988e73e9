import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, cli, run } from './built-cli.js';

// What a user does to get the command (README, "Install"): `npm pack` in the checkout (prepack builds dist/),
// `npm install -g <tarball> --prefix <dir>`, then `<dir>/bin/etcd-monitor`. The production dependencies come
// from the npm cache or the npm registry (--prefer-offline); everything lands in a temp dir, removed after.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-pack-'));
const prefix = path.join(tmp, 'prefix');
const command = path.join(prefix, 'bin', 'etcd-monitor');
const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  license: string;
  engines: { node: string };
  bin: Record<string, string>;
};
let packed: { filename: string; files: { path: string }[] };
let head: string;

beforeAll(async () => {
  head = (await run('git', ['rev-parse', 'HEAD'], { cwd: REPO })).stdout.trim();
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: REPO,
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  // npm prints the prepack build's output before the JSON document
  packed = (JSON.parse(stdout.slice(stdout.indexOf('\n[') + 1)) as (typeof packed)[])[0]!;
  await run(
    'npm',
    [
      'install',
      '-g',
      path.join(tmp, packed.filename),
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
    ],
    { cwd: tmp, timeout: 300_000 },
  );
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm pack + npm install -g', () => {
  it('the tarball holds the command, its build and the shipped files, and nothing of the checkout', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of [
      'bin/etcd-monitor.js',
      'dist/cli.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/build-info.json',
      'alert-rules/etcd-monitor.rules.yml',
      'alertmanager/alertmanager.yml',
      'config.example.yaml',
      'README.md',
      'LICENSE',
      'CHANGELOG.md',
      'package.json',
    ])
      expect(files, f).toContain(f);
    expect(
      files.filter((f) => f.startsWith('dashboards/') && f.endsWith('.json')).length,
    ).toBeGreaterThanOrEqual(5);
    const foreign = files.filter((f) =>
      /^(src|test|harness|scripts|perf|node_modules|\.tmp|data)\/|\.map$/.test(f),
    );
    expect(foreign).toEqual([]);
  });

  it('installs the etcd-monitor command, which prints its version and commit outside the checkout', async () => {
    expect(existsSync(command)).toBe(true);
    const installed = path.join(prefix, 'lib', 'node_modules', pkg.name);
    // The commit comes from dist/build-info.json: an installed copy has no .git to ask.
    expect(existsSync(path.join(installed, '.git'))).toBe(false);
    const r = await cli(['--version'], { bin: command, cwd: tmp, env: { PATH: process.env.PATH ?? '' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(
      new RegExp(
        `^etcd-monitor, version ${pkg.version.replace(/\./g, '\\.')} \\(revision: ${head}(-dirty)?\\)$`,
      ),
    );
    expect(r.stdout).toContain(`  node version:     ${process.version}\n`);
  });

  it('the installed command runs its subcommands: help, usage errors, completion', async () => {
    const opts = { bin: command, cwd: tmp, env: { PATH: process.env.PATH ?? '' } };
    const help = await cli(['bench', '-h'], opts);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^\s+--endpoints\s/m);
    const typo = await cli(['ctl', 'gett', 'foo'], opts);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toBe(
      'etcd-monitor: Unknown command "gett" for "etcd-monitor ctl" — did you mean "get"?\n',
    );
    const completion = await cli(['completion', 'bash'], opts);
    expect(completion.code).toBe(0);
    expect(completion.stdout).toContain(
      'complete -o bashdefault -o default -F _etcd_monitor_completions etcd-monitor',
    );
  });

  it('package.json: the bin, Node.js 20+, the Apache-2.0 licence text', () => {
    expect(pkg.bin).toEqual({ 'etcd-monitor': 'bin/etcd-monitor.js' });
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.license).toBe('Apache-2.0');
    const license = readFileSync(path.join(prefix, 'lib', 'node_modules', pkg.name, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    expect(license).toContain('END OF TERMS AND CONDITIONS');
  });
});
