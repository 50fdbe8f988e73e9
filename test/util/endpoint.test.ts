import { describe, expect, it } from 'vitest';
import { formatAuthority, parseEndpoint, type EndpointOptions } from '../../src/util/endpoint.js';

describe('parseEndpoint', () => {
  // input, options, expected [protocol, host, port, authority, url]
  it.each<[string, EndpointOptions, [string, string, number, string, string]]>([
    ['http://10.0.0.1:2379', {}, ['http', '10.0.0.1', 2379, '10.0.0.1:2379', 'http://10.0.0.1:2379']],
    ['10.0.0.1:2379', {}, ['http', '10.0.0.1', 2379, '10.0.0.1:2379', 'http://10.0.0.1:2379']],
    [
      '10.0.0.1:2379',
      { scheme: 'https' },
      ['https', '10.0.0.1', 2379, '10.0.0.1:2379', 'https://10.0.0.1:2379'],
    ],
    // An explicit scheme wins over the one for bare host:port.
    [
      'http://etcd-0:2379',
      { scheme: 'https' },
      ['http', 'etcd-0', 2379, 'etcd-0:2379', 'http://etcd-0:2379'],
    ],
    ['[::1]:2379', {}, ['http', '::1', 2379, '[::1]:2379', 'http://[::1]:2379']],
    ['https://[::1]:2379', {}, ['https', '::1', 2379, '[::1]:2379', 'https://[::1]:2379']],
    [
      'https://[2001:DB8::1]:2379',
      {},
      ['https', '2001:db8::1', 2379, '[2001:db8::1]:2379', 'https://[2001:db8::1]:2379'],
    ],
    // Upper case, a trailing slash, a path, a query and user info are not part of the endpoint.
    [
      'HTTP://Etcd-0.Example:2379/',
      {},
      ['http', 'etcd-0.example', 2379, 'etcd-0.example:2379', 'http://etcd-0.example:2379'],
    ],
    ['http://etcd-0:2379/v3/kv?x=1#y', {}, ['http', 'etcd-0', 2379, 'etcd-0:2379', 'http://etcd-0:2379']],
    ['http://user:secret@etcd-0:2379', {}, ['http', 'etcd-0', 2379, 'etcd-0:2379', 'http://etcd-0:2379']],
    ['  etcd-0:2379  ', {}, ['http', 'etcd-0', 2379, 'etcd-0:2379', 'http://etcd-0:2379']],
    // No port: etcd's client port over http, 443 over https.
    ['http://etcd-0', {}, ['http', 'etcd-0', 2379, 'etcd-0:2379', 'http://etcd-0:2379']],
    [
      'https://etcd.example',
      {},
      ['https', 'etcd.example', 443, 'etcd.example:443', 'https://etcd.example:443'],
    ],
    ['https://[::1]', {}, ['https', '::1', 443, '[::1]:443', 'https://[::1]:443']],
    ['etcd-0', { scheme: 'https' }, ['https', 'etcd-0', 443, 'etcd-0:443', 'https://etcd-0:443']],
    // A port equal to the scheme's default is kept, not taken for a missing one.
    ['http://etcd-0:80', { requirePort: true }, ['http', 'etcd-0', 80, 'etcd-0:80', 'http://etcd-0:80']],
    [
      'https://etcd-0:443/',
      { requirePort: true },
      ['https', 'etcd-0', 443, 'etcd-0:443', 'https://etcd-0:443'],
    ],
    ['https://[::1]:443', { requirePort: true }, ['https', '::1', 443, '[::1]:443', 'https://[::1]:443']],
  ])('%s %j', (raw, options, [protocol, host, port, authority, url]) => {
    const e = parseEndpoint(raw, options);
    expect(e).toEqual({ protocol, host, port, secure: protocol === 'https', authority, url });
  });

  it.each<[string, EndpointOptions, RegExp]>([
    ['unix:///run/etcd.sock', {}, /"unix:\/\/\/run\/etcd.sock" must use http or https/],
    ['grpc://etcd-0:2379', {}, /must use http or https/],
    ['not a url', {}, /"not a url" is not a URL or host:port/],
    ['http://etcd-0:port', {}, /is not a URL or host:port/],
    ['http://etcd-0:99999', {}, /is not a URL or host:port/],
    ['::1:2379', {}, /is not a URL or host:port/],
    ['', {}, /is not a URL or host:port/],
    [
      'http://10.0.0.1',
      { requirePort: true },
      /"http:\/\/10.0.0.1" needs a port \(etcd's client port is usually 2379\)/,
    ],
    ['127.0.0.1', { requirePort: true }, /"127.0.0.1" needs a port/],
    ['https://[::1]/', { requirePort: true }, /needs a port/],
    ['http://etcd-0:', { requirePort: true }, /needs a port/],
  ])('refuses %j %j', (raw, options, message) => {
    expect(() => parseEndpoint(raw, options)).toThrow(message);
  });

  it('url parses back to the same endpoint', () => {
    for (const raw of ['[::1]:2379', 'https://etcd.example', 'HTTP://A:80/x']) {
      const once = parseEndpoint(raw);
      expect(parseEndpoint(once.url, { requirePort: true })).toEqual(once);
    }
  });
});

describe('formatAuthority', () => {
  it.each([
    ['127.0.0.1', 2379, '127.0.0.1:2379'],
    ['etcd-0', 443, 'etcd-0:443'],
    ['::1', 2379, '[::1]:2379'],
    ['fe80::1', 80, '[fe80::1]:80'],
  ])('%s %d', (host, port, expected) => {
    expect(formatAuthority(host, port)).toBe(expected);
  });
});
