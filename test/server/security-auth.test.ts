import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AuthBusyError,
  Authenticator,
  BcryptQueue,
  mediaTypeOf,
  parseWebConfig,
  requiredRole,
  type WebConfig,
} from '../../src/server/security/index.js';
import { CredentialCache } from '../../src/server/security/credential-cache.js';

const basic = (user: string, pw: string): string =>
  `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;

describe('requiredRole', () => {
  const locked = { metricsAuth: true };
  const optOut = { metricsAuth: false };
  it.each([
    ['GET', '/health', locked, null],
    ['GET', '/ready', locked, null],
    ['GET', '/health/', locked, null],
    ['OPTIONS', '/api/v1/performance/benchmark', locked, null],
    ['GET', '/', locked, 'viewer'],
    ['GET', '/metrics', locked, 'viewer'],
    ['GET', '/metrics', optOut, null],
    ['GET', '/METRICS', optOut, null],
    ['GET', '/api/v1/cluster/status', locked, 'viewer'],
    ['GET', '/no/such/path', locked, 'viewer'],
    ['POST', '/api/v1/alerts/webhook', locked, 'operator'],
    ['DELETE', '/api/v1/anything', locked, 'operator'],
    ['GET', '/api/v1/performance/benchmark', locked, 'operator'],
    ['GET', '/api/v1/performance/benchmark/abc', locked, 'operator'],
    ['GET', '/API/V1/Performance/Benchmark', locked, 'operator'],
    ['GET', '/api/v1/performance/benchmark/', locked, 'operator'],
    ['POST', '/api/v1/performance/benchmark', locked, 'operator'],
  ] as const)('%s %s (metricsAuth %o) needs %s', (method, path, config, role) => {
    expect(requiredRole(method, path, config)).toBe(role);
  });
});

describe('metrics_auth', () => {
  const users = { basic_auth_users: { bob: bcrypt.hashSync('x', 4) } };
  it.each([
    ['unset: /metrics needs credentials like every other path', {}, true],
    ['true', { metrics_auth: true }, true],
    ['false: the explicit opt-out', { metrics_auth: false }, false],
  ])('%s', (_what, ext, expected) => {
    expect(parseWebConfig({ ...users, etcd_monitor: ext }, '/').metricsAuth).toBe(expected);
  });
});

describe('mediaTypeOf', () => {
  it.each([
    ['application/json', 'application/json'],
    ['Application/JSON; charset=utf-8', 'application/json'],
    ['  application/json ;charset=UTF-8', 'application/json'],
    ['text/plain;charset=UTF-8', 'text/plain'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x', 'multipart/form-data'],
    ['application/json-patch+json', 'application/json-patch+json'],
    [undefined, ''],
  ])('%s -> %s', (header, type) => {
    expect(mediaTypeOf(header)).toBe(type);
  });
});

describe('CredentialCache', () => {
  it('expires an entry ttl after its last use, keeps a used one, and evicts the least recently used', () => {
    let now = 0;
    const cache = new CredentialCache<string>(100, 2, () => now);
    cache.set('a', 'A');
    now = 90;
    expect(cache.get('a')).toBe('A'); // used at 90: lives until 190
    now = 180;
    expect(cache.get('a')).toBe('A');
    now = 281;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);

    cache.set('x', 'X');
    cache.set('y', 'Y');
    expect(cache.get('x')).toBe('X'); // x is now the most recently used
    cache.set('z', 'Z'); // evicts y
    expect(cache.size).toBe(2);
    expect(cache.get('y')).toBeUndefined();
    expect(cache.get('x')).toBe('X');
    expect(cache.get('z')).toBe('Z');
  });
});

describe('BcryptQueue (real worker thread)', () => {
  const hash = bcrypt.hashSync('right', 4);
  const queue = new BcryptQueue(2);
  afterAll(() => queue.close());

  it('compares off the event loop and answers like bcryptjs', async () => {
    expect(await queue.compare('right', hash)).toBe(true);
    expect(await queue.compare('wrong', hash)).toBe(false);
    expect(await queue.compare('x', 'not a hash')).toBe(false);
  });

  it('refuses a comparison past the bound with AuthBusyError, and takes new ones once the queue drains', async () => {
    const first = queue.compare('a', hash);
    const second = queue.compare('b', hash);
    expect(queue.depth).toBe(2);
    await expect(queue.compare('c', hash)).rejects.toBeInstanceOf(AuthBusyError);
    expect(await Promise.all([first, second])).toEqual([false, false]);
    expect(queue.depth).toBe(0);
    expect(await queue.compare('right', hash)).toBe(true);
  });
});

describe('Authenticator', () => {
  const config: WebConfig = {
    basicAuthUsers: new Map([
      ['alice', bcrypt.hashSync('alice-pw', 4)],
      ['bob', bcrypt.hashSync('bob-pw', 5)],
    ]),
    userRoles: new Map([['alice', 'operator']]),
    tokens: [{ name: 'ci', token: 'operator-token-0123456789', role: 'operator' }],
    metricsAuth: true,
  };
  const auth = new Authenticator(config);
  afterAll(() => auth.close());

  it('compares an unknown user against the stand-in hash and refuses it; verifies a known user once', async () => {
    expect(await auth.authenticate(basic('mallory', 'alice-pw'))).toBeUndefined();
    expect(await auth.authenticate(basic('mallory', 'bob-pw'))).toBeUndefined();
    expect(auth.stats).toMatchObject({ dummyCompares: 2, bcryptCompares: 0, cacheHits: 0 });

    expect(await auth.authenticate(basic('alice', 'wrong'))).toBeUndefined();
    expect(await auth.authenticate(basic('alice', 'wrong'))).toBeUndefined();
    expect(auth.stats).toMatchObject({ dummyCompares: 2, bcryptCompares: 2, cacheHits: 0 });

    // Three concurrent first requests share one comparison; later ones hit the cache.
    const first = await Promise.all([1, 2, 3].map(() => auth.authenticate(basic('alice', 'alice-pw'))));
    expect(first).toEqual(Array(3).fill({ name: 'alice', role: 'operator', via: 'basic' }));
    expect(auth.stats.bcryptCompares).toBe(3);
    expect(await auth.authenticate(basic('alice', 'alice-pw'))).toMatchObject({ name: 'alice' });
    expect(auth.stats).toMatchObject({ bcryptCompares: 3, cacheHits: 1 });
    expect(await auth.authenticate(basic('bob', 'bob-pw'))).toEqual({
      name: 'bob',
      role: 'viewer',
      via: 'basic',
    });
  });

  it('never runs bcrypt for bearer tokens or malformed headers', async () => {
    const before = { ...auth.stats };
    expect(await auth.authenticate('Bearer operator-token-0123456789')).toMatchObject({ name: 'ci' });
    expect(await auth.authenticate('Bearer nope')).toBeUndefined();
    expect(await auth.authenticate(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
    expect(await auth.authenticate('Digest x')).toBeUndefined();
    expect(auth.stats).toEqual(before);
  });
});
