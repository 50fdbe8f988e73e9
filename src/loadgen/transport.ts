import type { TlsFiles } from '../config/types.js';
import { hasTlsFiles, loadTlsMaterial } from '../etcd/tls-material.js';
import { parseEndpoint, type Endpoint } from '../util/endpoint.js';
import { ConfigError } from '../util/errors.js';
import {
  KV_PUT,
  KV_RANGE,
  putTemplate,
  rangeTemplate,
  writeKeyNumber,
  type BodyTemplate,
} from '../protocol/protobuf/kv.js';
import { H2Channel } from '../protocol/h2/channel.js';
import type { UnaryCallback } from '../protocol/h2/call.js';
import type { H2Target } from '../protocol/h2/dial.js';

/** What one benchmark client can do; `n` is the key number (see writeKeyNumber). Callbacks never run synchronously. */
export interface ClientHandle {
  put(n: number, cb: UnaryCallback): void;
  get(n: number, cb: UnaryCallback): void;
}

/** A set of connections the benchmark's clients are spread over. */
export interface Transport {
  readonly name: 'lean' | 'etcd3';
  /** Handle for client `i` (client i uses connection i mod conns, as etcd's benchmark tool does). */
  client(i: number): ClientHandle;
  close(): Promise<void>;
}

/** Key and value layout shared by every client of one run. */
export interface PayloadSpec {
  prefix: Buffer;
  keySize: number;
  valSize: number;
  serializable: boolean;
}

export interface ConnectSpec {
  endpoints: readonly string[];
  conns: number;
  /** Open only these connection indices (0..conns-1); a worker thread owns a subset. */
  only?: readonly number[];
  tls?: TlsFiles;
  dialTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * The dial target of an endpoint (src/util/endpoint.ts): bare `host:port` is https when TLS files are
 * given; the TLS files are read only for an https endpoint.
 */
export function dialTarget(endpoint: string, tlsFiles?: TlsFiles): H2Target {
  let parsed: Endpoint;
  try {
    parsed = parseEndpoint(endpoint, { scheme: hasTlsFiles(tlsFiles) ? 'https' : 'http' });
  } catch (err) {
    throw new ConfigError('endpoints', (err as Error).message, { cause: err });
  }
  const { host, port, secure } = parsed;
  if (!secure) return { host, port };
  return { host, port, tls: { ...loadTlsMaterial(tlsFiles ?? {}) } };
}

/** Connection indices to open: `spec.only`, or all of 0..conns-1. */
export function connectionIndices(spec: Pick<ConnectSpec, 'conns' | 'only'>): number[] {
  return spec.only ? [...spec.only] : Array.from({ length: spec.conns }, (_, k) => k);
}

/**
 * The hand-framed HTTP/2 path: `conns` connections, connection k dialled to endpoint k mod #endpoints
 * (etcd's benchmark tool in 3.4–3.6 pins each connection to one endpoint the same way). Each is an
 * H2Channel: a connection that dies mid-run (GOAWAY, protocol error, no PING ACK) is dialled again.
 */
export async function connectLean(spec: ConnectSpec, payload: PayloadSpec): Promise<Transport> {
  const targets = spec.endpoints.map((e) => dialTarget(e, spec.tls));
  const indices = connectionIndices(spec);
  const conns = indices.map(
    (k) =>
      new H2Channel(targets[k % targets.length]!, {
        timeoutMs: spec.dialTimeoutMs,
        callTimeoutMs: spec.requestTimeoutMs,
      }),
  );
  const settled = await Promise.allSettled(conns.map((c) => c.ready()));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    for (const c of conns) c.close();
    throw failed.reason;
  }
  const value = Buffer.alloc(payload.valSize, 'v');
  const put = putTemplate(payload.prefix, payload.keySize, value);
  const range = rangeTemplate(payload.prefix, payload.keySize, payload.serializable);
  return {
    name: 'lean',
    client: (i) => new LeanClient(conns[indices.indexOf(i % spec.conns)]!, put, range, payload.keySize),
    close: async () => {
      for (const c of conns) c.close();
    },
  };
}

class LeanClient implements ClientHandle {
  private n = 0;
  private readonly putMethod: number;
  private readonly rangeMethod: number;
  // Writers are bound once so a call allocates nothing but its stream-map entry.
  private readonly writePut = (dst: Buffer, off: number): void => this.fill(this.putBody, dst, off);
  private readonly writeRange = (dst: Buffer, off: number): void => this.fill(this.rangeBody, dst, off);

  constructor(
    private readonly conn: H2Channel,
    private readonly putBody: BodyTemplate,
    private readonly rangeBody: BodyTemplate,
    private readonly keySize: number,
  ) {
    this.putMethod = conn.method(KV_PUT);
    this.rangeMethod = conn.method(KV_RANGE);
  }

  put(n: number, cb: UnaryCallback): void {
    this.n = n;
    this.conn.unary(this.putMethod, this.putBody.bytes.length, this.writePut, cb);
  }

  get(n: number, cb: UnaryCallback): void {
    this.n = n;
    this.conn.unary(this.rangeMethod, this.rangeBody.bytes.length, this.writeRange, cb);
  }

  private fill(t: BodyTemplate, dst: Buffer, off: number): void {
    t.bytes.copy(dst, off);
    writeKeyNumber(dst, off + t.keyOffset, this.keySize, this.n);
  }
}
