import { noop } from 'cockatiel';
import { Etcd3, GRPCGenericError } from 'etcd3';
import type { TlsFiles } from '../config/types.js';
import { hasTlsFiles, loadTlsMaterial } from '../etcd/tls-material.js';
import { keyBytes } from '../protocol/protobuf/kv.js';
import { parseEndpoint } from '../util/endpoint.js';
import { ConfigError } from '../util/errors.js';
import type { UnaryCallback } from '../protocol/h2/call.js';
import {
  connectionIndices,
  type ClientHandle,
  type ConnectSpec,
  type PayloadSpec,
  type Transport,
} from './transport.js';

// The etcd3 (grpc-js) path, kept selectable with `--client etcd3` so the lean path's advantage stays
// measurable. Retries and circuit breakers are switched off: a benchmark must count every error.

/** gRPC status code of an etcd3 error (14 UNAVAILABLE when the library does not say). */
export function grpcCodeOf(err: unknown): number {
  const code = (err as { code?: unknown })?.code ?? (err as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof code === 'number') return code;
  return err instanceof GRPCGenericError ? 2 : 14;
}

/**
 * Options for an Etcd3 client; with `measured` (the default) fault handling is disabled (no retries,
 * no circuit breaker) so every error counts. Setup and cleanup calls keep etcd3's retries, which move
 * to another endpoint when one member is down.
 */
export function etcd3Options(
  endpoints: readonly string[],
  spec: Pick<ConnectSpec, 'tls' | 'dialTimeoutMs' | 'requestTimeoutMs'>,
  measured = true,
) {
  const parsed = endpoints.map((e) => {
    try {
      return parseEndpoint(e, { scheme: hasTlsFiles(spec.tls) ? 'https' : 'http' });
    } catch (err) {
      throw new ConfigError('endpoints', (err as Error).message, { cause: err });
    }
  });
  // etcd3 puts TLS on every host once credentials are given: any https endpoint, or a CA file.
  const secure = parsed.some((e) => e.secure) || Boolean(spec.tls?.caFile);
  return {
    hosts: parsed.map((e) => e.url),
    dialTimeout: spec.dialTimeoutMs,
    defaultCallOptions: () => ({ deadline: new Date(Date.now() + spec.requestTimeoutMs) }),
    ...(measured ? { faultHandling: { host: () => noop, global: noop } } : {}),
    ...(secure ? { credentials: etcd3Credentials(spec.tls) } : {}),
  };
}

/** etcd3's TLS credentials from the TLS files (etcd3 requires a root certificate: empty without a CA file). */
function etcd3Credentials(files: TlsFiles | undefined) {
  const tls = loadTlsMaterial(files);
  return {
    rootCertificate: tls?.ca ?? Buffer.alloc(0),
    ...(tls?.cert ? { certChain: tls.cert } : {}),
    ...(tls?.key ? { privateKey: tls.key } : {}),
  };
}

/**
 * `conns` Etcd3 instances, instance k bound to endpoint k mod #endpoints. grpc-js shares subchannels
 * between identical channels, so each instance gets a distinct option to get its own connection.
 */
export async function connectEtcd3(spec: ConnectSpec, payload: PayloadSpec): Promise<Transport> {
  const indices = connectionIndices(spec);
  const clients = indices.map((k) => {
    const endpoint = spec.endpoints[k % spec.endpoints.length]!;
    return new Etcd3({
      ...etcd3Options([endpoint], spec),
      grpcOptions: { 'grpc.use_local_subchannel_pool': 1, 'etcd-monitor.conn': k } as Record<string, number>,
    });
  });
  const value = Buffer.alloc(payload.valSize, 'v');
  return {
    name: 'etcd3',
    client: (i) => {
      const kv = clients[indices.indexOf(i % spec.conns)]!;
      const handle: ClientHandle = {
        put(n: number, cb: UnaryCallback) {
          kv.put(keyBytes(payload.prefix, payload.keySize, n))
            .value(value)
            .exec()
            .then(
              () => cb(0, undefined),
              (err: unknown) => cb(grpcCodeOf(err), (err as Error).message),
            );
        },
        get(n: number, cb: UnaryCallback) {
          const req = kv.get(keyBytes(payload.prefix, payload.keySize, n));
          (payload.serializable ? req.serializable(true) : req).exec().then(
            () => cb(0, undefined),
            (err: unknown) => cb(grpcCodeOf(err), (err as Error).message),
          );
        },
      };
      return handle;
    },
    close: async () => {
      for (const c of clients) c.close();
    },
  };
}
