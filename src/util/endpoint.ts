/**
 * The one parser of etcd client endpoints: --endpoints, the client URLs in a member list, the load
 * generator's and `ctl`'s endpoints, and the gRPC client's dial target all go through parseEndpoint, so
 * an endpoint has one spelling (`url`) and one reading of its host and port everywhere.
 */

export interface Endpoint {
  readonly protocol: 'http' | 'https';
  /** Host name (lower case) or IP address; an IPv6 address without brackets, as net.connect takes it. */
  readonly host: string;
  readonly port: number;
  /** https: the connection is TLS. */
  readonly secure: boolean;
  /** `host:port`, an IPv6 address in brackets (RFC 3986 §3.2.2): HTTP/2's :authority. */
  readonly authority: string;
  /** `protocol://authority`: the form endpoints are normalised to (labels, messages, map keys). */
  readonly url: string;
}

export interface EndpointOptions {
  /** Scheme of an endpoint written as bare `host:port`: http unless said otherwise (e.g. TLS files given). */
  readonly scheme?: 'http' | 'https';
  /** Refuse an endpoint without an explicit port (--endpoints: etcd listens on no well-known port). */
  readonly requirePort?: boolean;
}

/**
 * Port of an endpoint that names none: etcd's client port 2379 over http (gRPC on port 80 is never an
 * etcd), 443 over https (the port grpc-go and grpc-js assume for a TLS target, e.g. a load balancer).
 */
export const DEFAULT_PORTS = { http: 2379, https: 443 } as const;

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Parses `http://host:port`, `https://host:port` or bare `host:port` (IPv6 as `[::1]:2379`). A path, a
 * trailing slash, a query or user info are dropped: gRPC has no use for them. Throws an Error whose
 * message quotes the input; callers name the setting it came from.
 */
export function parseEndpoint(raw: string, options: EndpointOptions = {}): Endpoint {
  const text = raw.trim();
  const withScheme = SCHEME.test(text) ? text : `${options.scheme ?? 'http'}://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`"${raw}" is not a URL or host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`"${raw}" must use http or https`);
  }
  if (!url.hostname) throw new Error(`"${raw}" is not a URL or host:port`);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  // URL drops a port equal to the scheme's default (http://h:80, https://h:443): read it back from the
  // authority as written, so an explicit port is never mistaken for a missing one.
  const written = /^[^:]+:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d+))?/.exec(withScheme)?.[2];
  const explicit = url.port !== '' ? Number(url.port) : written !== undefined ? Number(written) : undefined;
  if (explicit === undefined && options.requirePort) {
    throw new Error(`"${raw}" needs a port (etcd's client port is usually 2379)`);
  }
  const port = explicit ?? DEFAULT_PORTS[protocol];
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const authority = formatAuthority(host, port);
  return { protocol, host, port, secure: protocol === 'https', authority, url: `${protocol}://${authority}` };
}

/** `host:port`, an IPv6 address in brackets (RFC 3986 §3.2.2). */
export function formatAuthority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
