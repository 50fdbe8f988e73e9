import { describe, expect, it } from 'vitest';
import { closest, editDistance, positionals, usageError, type UsageLevel } from '../../src/config/usage.js';
import { UsageError } from '../../src/util/errors.js';
import { describeSystemError } from '../../src/util/system-error.js';

// The pieces behind the CLI's messages, table-driven; test/cli/cli.test.ts runs them through the real process.

describe('closest', () => {
  const ctl = ['get', 'put', 'del', 'txn', 'cas', 'watch', 'compact', 'lease', 'member', 'endpoint', 'alarm'];
  it.each([
    ['gett', ctl, 'get'],
    ['gte', ctl, 'get'], // a swap of neighbours is one edit
    ['memebr', ctl, 'member'],
    ['mem', ctl, 'member'], // a prefix
    ['endpoints', ctl, 'endpoint'],
    ['WATCH', ctl, 'watch'],
    ['frobnicate', ctl, undefined],
    ['x', ctl, undefined],
    ['keepalive', ['grant', 'revoke', 'timetolive', 'keep-alive'], 'keep-alive'],
    ['max-latncy-ms', ['max-latency-ms', 'max-db-size-mb'], 'max-latency-ms'],
  ] as const)('%s → %s', (word, candidates, expected) => {
    expect(closest(word, candidates)).toBe(expected);
  });

  it('edit distance counts insertions, deletions, substitutions and swaps', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('bench', 'bnch')).toBe(1);
    expect(editDistance('grant', 'grnat')).toBe(1);
    expect(editDistance('check', 'chekc')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

const ctlLevel: UsageLevel = {
  path: ['ctl'],
  commands: ['get', 'put', 'lease'],
  flags: ['endpoints', 'output', 'cert', 'help', 'version'],
  booleans: ['help', 'version'],
  shortAliases: { w: 'output', h: 'help' },
};

describe('usageError', () => {
  it('skips flag values when looking for the command word', () => {
    expect(
      positionals(['ctl', '--endpoints', 'http://a:2379', '-w', 'json', '--help', 'gett', 'k'], ctlLevel),
    ).toEqual(['ctl', 'gett', 'k']);
    expect(positionals(['ctl', '--endpoints=http://a:2379', 'gett', '--', 'x'], ctlLevel)).toEqual([
      'ctl',
      'gett',
    ]);
  });

  it.each([
    [['ctl', 'gett', 'foo'], 'Unknown command "gett" for "etcd-monitor ctl" — did you mean "get"?'],
    [['ctl', 'zzz'], 'Unknown command "zzz" for "etcd-monitor ctl" (commands: get, put, lease)'],
    [
      ['ctl'],
      '"etcd-monitor ctl" needs a command: get, put, lease (run "etcd-monitor ctl --help" for usage)',
    ],
    [
      ['ctl', '--endpont', 'x', 'get'],
      'Unknown flag --endpont — did you mean --endpoints? (run "etcd-monitor ctl --help" for usage)',
    ],
    // nothing unknown: yargs' own message (missing argument, bad choice), on one line
    [['ctl', 'get', '--no-help'], 'yargs says this (run "etcd-monitor ctl --help" for usage)'],
  ])('%j', (args, message) => {
    const err = usageError(args, ctlLevel, 'yargs says\n  this');
    expect(err).toBeInstanceOf(UsageError);
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe(message);
  });
});

/** A Node system error as fs and net raise them (code, syscall, path or address). */
function systemError(fields: Record<string, unknown>): Error {
  return Object.assign(new Error('raw text that is never read'), fields);
}

describe('describeSystemError', () => {
  it.each([
    [
      { code: 'EADDRINUSE', syscall: 'listen', address: '127.0.0.1', port: 8080 },
      'cannot listen on 127.0.0.1:8080: address already in use (another process listens there; pick another port) (EADDRINUSE)',
    ],
    [
      { code: 'EADDRINUSE', syscall: 'listen', address: '::1', port: 9 },
      'cannot listen on [::1]:9: address already in use (another process listens there; pick another port) (EADDRINUSE)',
    ],
    [
      { code: 'EACCES', syscall: 'listen', address: '0.0.0.0', port: 80 },
      'cannot listen on 0.0.0.0:80: permission denied (ports below 1024 need privileges) (EACCES)',
    ],
    [
      { code: 'ENOTDIR', syscall: 'mkdir', path: '/etc/hostname/data' },
      'cannot create directory /etc/hostname/data: a component of the path is a file, not a directory (ENOTDIR)',
    ],
    [
      { code: 'EACCES', syscall: 'open', path: '/var/lib/x/results.jsonl' },
      'cannot open /var/lib/x/results.jsonl: permission denied (EACCES)',
    ],
    [{ code: 'EROFS', syscall: 'write', path: '/ro/f' }, 'cannot write /ro/f: read-only file system (EROFS)'],
  ])('%j', (fields, message) => {
    expect(describeSystemError(systemError(fields))).toBe(message);
  });

  it('finds a system error in the cause chain; anything else is left alone', () => {
    const inner = systemError({ code: 'ENOSPC', syscall: 'write', path: '/d/f' });
    expect(describeSystemError(new Error('append failed', { cause: inner }))).toBe(
      'cannot write /d/f: no space left on the device (ENOSPC)',
    );
    expect(describeSystemError(new TypeError('x is undefined'))).toBeUndefined();
    expect(describeSystemError(systemError({ code: 'ECONNRESET', syscall: 'read' }))).toBeUndefined();
    expect(describeSystemError('EADDRINUSE')).toBeUndefined();
  });
});
