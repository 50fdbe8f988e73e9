import net from 'node:net';
import tls from 'node:tls';
import { parseEndpoint } from '../util/endpoint.js';
import type { TlsMaterial } from './tls-material.js';

/** What one extra handshake with the member found out: its TLS error, and its certificate's dates. */
export interface TlsDiagnosis {
  /** The handshake's (or the alert's) error, as Node raised it; absent when the handshake held. */
  readonly err?: unknown;
  readonly peerCertificate?: { readonly valid_from: string; readonly valid_to: string };
}

/** Diagnoses are reused this long per endpoint: a failing member costs at most one extra handshake per 30 s. */
const CACHE_MS = 30_000;
/**
 * Bounds on the extra handshake, so a diagnosis never pushes a collector past its hard limit (request
 * timeout + up to 2 s of dial + 0.5 s): a full handshake on a LAN takes a few ms, an alert one round trip.
 */
const MAX_HANDSHAKE_MS = 1000;
const ALERT_WAIT_MS = 300;
const cache = new Map<string, { at: number; result: Promise<TlsDiagnosis> }>();

/**
 * One handshake with the same settings as the failed request, sending no request at all. Two failures
 * do not say why on their own: with TLS 1.3 a member rejects a missing or untrusted client certificate
 * with an alert after the client already finished its handshake (RFC 8446 §4.4.2.4, §6.2: e.g.
 * certificate_required, 116), which undici reports as "other side closed" (`want: 'alert'`); and
 * Node's CERT_HAS_EXPIRED carries no date, which the certificate read here without verification (then
 * discarded) does (`want: 'certificate'`).
 */
export function diagnoseTls(
  endpoint: string,
  material: TlsMaterial | undefined,
  timeoutMs: number,
  want: 'alert' | 'certificate',
): Promise<TlsDiagnosis> {
  const now = Date.now();
  const key = `${want} ${endpoint}`;
  const cached = cache.get(key);
  if (cached && now - cached.at < CACHE_MS) return cached.result;
  for (const [k, entry] of cache) if (now - entry.at >= CACHE_MS) cache.delete(k);
  const result = handshake(endpoint, material, timeoutMs, want === 'alert');
  cache.set(key, { at: now, result });
  return result;
}

function handshake(
  endpoint: string,
  material: TlsMaterial | undefined,
  timeoutMs: number,
  verify: boolean,
): Promise<TlsDiagnosis> {
  const { host, port } = parseEndpoint(endpoint, { scheme: 'https' });
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ...(net.isIP(host) ? {} : { servername: host }),
      ...(material?.ca ? { ca: material.ca } : {}),
      ...(material?.cert ? { cert: material.cert } : {}),
      ...(material?.key ? { key: material.key } : {}),
      rejectUnauthorized: verify,
    });
    const finish = (result: TlsDiagnosis): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    let timer = setTimeout(() => finish({}), Math.min(timeoutMs, MAX_HANDSHAKE_MS));
    socket.once('error', (err) => finish({ err }));
    socket.once('close', () => finish({}));
    socket.once('secureConnect', () => {
      if (!verify) {
        const cert = socket.getPeerCertificate();
        finish(
          cert?.valid_to ? { peerCertificate: { valid_from: cert.valid_from, valid_to: cert.valid_to } } : {},
        );
        return;
      }
      // A TLS 1.3 rejection of our certificate arrives as an alert within a round trip of this point:
      // read (send nothing) for a short while; silence means the member accepted the handshake.
      socket.resume();
      clearTimeout(timer);
      timer = setTimeout(() => finish({}), ALERT_WAIT_MS);
    });
  });
}
