import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, ensureBuilt, run } from './built-cli.js';

// `etcd-monitor completion bash|zsh` sourced in a real bash and zsh (zsh: scripts/install-deps.sh), with
// `etcd-monitor` on PATH as npm links it (a symlink to bin/etcd-monitor.js), the completion function called
// as the shell calls it, and the words it offers read back.

const dir = mkdtempSync(path.join(os.tmpdir(), 'etcd-monitor-completion-'));
const binDir = path.join(dir, 'bin');
const env = () => ({ PATH: `${binDir}:${process.env.PATH ?? ''}`, HOME: dir });

beforeAll(async () => {
  await ensureBuilt();
  await run('mkdir', ['-p', binDir]);
  symlinkSync(BIN, path.join(binDir, 'etcd-monitor'));
  for (const shell of ['bash', 'zsh']) {
    const r = await cli(['completion', shell]);
    expect(r.code).toBe(0);
    writeFileSync(path.join(dir, `completion.${shell}`), r.stdout);
  }
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** COMPREPLY after bash completes the words (the last one is the word under the cursor). */
async function bashComplete(words: string[]): Promise<string[]> {
  const script = [
    `source ${JSON.stringify(path.join(dir, 'completion.bash'))}`,
    `COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    '_etcd_monitor_completions',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', script], { env: env() });
  return stdout.split('\n').filter(Boolean);
}

/** The words zsh's completion function hands to compadd (zsh then filters them by the typed prefix). */
async function zshComplete(words: string[]): Promise<string[]> {
  const script = [
    // compdef and compadd are builtins of the completion system; outside an interactive completion they
    // are stubbed to register nothing and print what would be offered.
    'compdef() { :; }',
    'compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }',
    `source ${JSON.stringify(path.join(dir, 'completion.zsh'))}`,
    `words=(${words.map((w) => `'${w}'`).join(' ')})`,
    `CURRENT=${words.length}`,
    '_etcd_monitor_completions',
  ].join('\n');
  const { stdout } = await run('zsh', ['-f', '-c', script], { env: env() });
  return stdout.split('\n').filter(Boolean);
}

describe('bash completion', () => {
  it('registers itself for etcd-monitor', async () => {
    const script = `source ${JSON.stringify(path.join(dir, 'completion.bash'))}\ncomplete -p etcd-monitor`;
    const { stdout } = await run('bash', ['--norc', '--noprofile', '-c', script], { env: env() });
    expect(stdout).toContain('-F _etcd_monitor_completions etcd-monitor');
  });

  it('offers the commands', async () => {
    expect((await bashComplete(['etcd-monitor', ''])).sort()).toEqual(
      ['bench', 'check', 'completion', 'ctl', 'disk-check', 'serve'].sort(),
    );
  });

  it('completes subcommands of subcommands and flags of a subcommand', async () => {
    expect(await bashComplete(['etcd-monitor', 'ctl', 'le'])).toEqual(['lease']);
    expect(await bashComplete(['etcd-monitor', 'ctl', 'lease', 'ke'])).toEqual(['keep-alive']);
    expect(await bashComplete(['etcd-monitor', 'ctl', 'snapshot', 's'])).toContain('save');
    expect(await bashComplete(['etcd-monitor', 'bench', '--end'])).toEqual(['--endpoints']);
    // the exporter's server flags are not bench's
    expect(await bashComplete(['etcd-monitor', 'bench', '--api-'])).toEqual([]);
    expect(await bashComplete(['etcd-monitor', '--api-p'])).toEqual(['--api-port']);
  });
});

describe('zsh completion', () => {
  it('is valid zsh', async () => {
    await run('zsh', ['-n', path.join(dir, 'completion.zsh')]);
  });

  it('installed in $fpath as _etcd-monitor, the autoloaded function completes on its first call', async () => {
    const fpathDir = path.join(dir, 'fpath');
    await run('mkdir', ['-p', fpathDir]);
    writeFileSync(path.join(fpathDir, '_etcd-monitor'), readFileSync(path.join(dir, 'completion.zsh')));
    const script = [
      'compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }',
      `fpath=(${JSON.stringify(fpathDir)} $fpath)`,
      'autoload -Uz _etcd-monitor',
      "words=(etcd-monitor ctl lease '')",
      'CURRENT=4',
      '_etcd-monitor',
    ].join('\n');
    const { stdout } = await run('zsh', ['-f', '-c', script], { env: env() });
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['grant', 'revoke', 'keep-alive']));
  });

  it('offers the commands, and the subcommands of ctl', async () => {
    expect(await zshComplete(['etcd-monitor', ''])).toEqual(
      expect.arrayContaining(['serve', 'ctl', 'bench', 'disk-check', 'check', 'completion']),
    );
    expect(await zshComplete(['etcd-monitor', 'ctl', 'le'])).toEqual(
      expect.arrayContaining(['get', 'put', 'lease', 'member', 'snapshot']),
    );
    expect(await zshComplete(['etcd-monitor', 'ctl', 'lease', ''])).toEqual(
      expect.arrayContaining(['grant', 'revoke', 'timetolive', 'keep-alive']),
    );
  });
});
