import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { Agent, request } from 'undici';
import { classifyTransportError } from '../util/classify-transport.js';
import { BadResponseError, MessageTooLargeError, type MemberRequestError } from '../util/errors.js';
import { diagnoseTls } from './tls-diagnose.js';
import type { TlsMaterial } from './tls-material.js';
import type { MemberHealth } from './types.js';

/** Upper bound on a /metrics body: etcd serves ≈150–250 KB; anything near this is not etcd. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/**
 * Above ≈1 MB, Buffer#toString makes an external string: V8 sees only its small handle, so the bytes
 * outlive many rounds. A body that large (not etcd's 150–250 KB; a hostile member's 11 MB every round) is
 * decoded chunk by chunk into strings on the V8 heap instead, which the shipped GC flags keep in check.
 */
const EXTERNAL_STRING_BYTES = 1024 * 1024;

/** Failures over https that one extra handshake can explain better (see `classify`). */
const DIAGNOSED = new Set(['CONNECTION_RESET', 'TLS_CERT_EXPIRED', 'TLS_CERT_NOT_YET_VALID']);

/** Plain HTTP(S) access to members' /metrics and /health, one connection pool per cluster. */
export class MemberHttpClient {
  private readonly agent: Agent;

  constructor(
    private readonly tls: TlsMaterial | undefined,
    private readonly options: { readonly dialTimeoutMs: number; readonly requestTimeoutMs: number },
  ) {
    this.agent = new Agent({
      connect: {
        timeout: options.dialTimeoutMs,
        ...(tls?.ca ? { ca: tls.ca } : {}),
        ...(tls?.cert ? { cert: tls.cert } : {}),
        ...(tls?.key ? { key: tls.key } : {}),
      },
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
      connections: 4,
    });
  }

  /** Raw text of `${endpoint}/metrics`. */
  async fetchMetricsText(endpoint: string): Promise<string> {
    return this.getText(endpoint, '/metrics');
  }

  /** GET /health; a member that answers but reports unhealthy is a result, not an error. */
  async health(endpoint: string): Promise<MemberHealth> {
    const text = await this.getText(endpoint, '/health', true);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new BadResponseError(endpoint, `did not return JSON: ${JSON.stringify(text.slice(0, 80))}`, {
        what: '/health',
      });
    }
    const health = (body as Record<string, unknown>)?.['health'];
    if (health !== 'true' && health !== 'false' && health !== true && health !== false) {
      throw new BadResponseError(endpoint, 'answer has no "health" field', { what: '/health' });
    }
    return {
      healthy: health === 'true' || health === true,
      reason: String((body as Record<string, unknown>)['reason'] ?? ''),
    };
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  private async getText(endpoint: string, path: string, allowServerError = false): Promise<string> {
    const signal = AbortSignal.timeout(this.options.requestTimeoutMs);
    let response;
    try {
      response = await request(`${endpoint}${path}`, { dispatcher: this.agent, signal });
    } catch (err) {
      throw await this.classify(endpoint, path, err);
    }
    // etcd answers /health with 503 and a JSON body when unhealthy; that body is the answer we want.
    if (response.statusCode !== 200 && !(allowServerError && response.statusCode === 503)) {
      await response.body.dump().catch(() => undefined);
      throw new BadResponseError(endpoint, `answered HTTP ${response.statusCode}`, { what: path });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          response.body.destroy();
          throw new MessageTooLargeError(endpoint, MAX_BODY_BYTES, { what: path });
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      throw await this.classify(endpoint, path, err);
    }
    // Same string either way for ASCII (all of etcd's output), and latin1 decoding is several times faster.
    if (size <= EXTERNAL_STRING_BYTES) {
      const body = Buffer.concat(chunks);
      return body.toString(isAscii(body) ? 'latin1' : 'utf8');
    }
    const decoder = new StringDecoder(chunks.every((c) => isAscii(c)) ? 'latin1' : 'utf8');
    return chunks.map((c) => decoder.write(c)).join('') + decoder.end();
  }

  /**
   * Classifies a failed request. Over https, a reset (undici's "other side closed") or an expired
   * certificate is looked at once more with `diagnoseTls`: a TLS 1.3 member rejects a client certificate
   * only after the handshake, and an expired certificate's date is not in Node's error.
   */
  private async classify(endpoint: string, path: string, err: unknown): Promise<MemberRequestError> {
    const ctx = {
      endpoint,
      what: path,
      dialTimeoutMs: this.options.dialTimeoutMs,
      timeoutMs: this.options.requestTimeoutMs,
    };
    const first = classifyTransportError(err, ctx);
    if (!endpoint.startsWith('https:') || !DIAGNOSED.has(first.code)) return first;
    const reset = first.code === 'CONNECTION_RESET';
    const diagnosis = await diagnoseTls(
      endpoint,
      this.tls,
      this.options.dialTimeoutMs,
      reset ? 'alert' : 'certificate',
    );
    if (reset) {
      const tlsCause = diagnosis.err ? classifyTransportError(diagnosis.err, ctx) : undefined;
      return tlsCause?.code.startsWith('TLS_') ? tlsCause : first;
    }
    return diagnosis.peerCertificate
      ? classifyTransportError(err, { ...ctx, peerCertificate: diagnosis.peerCertificate })
      : first;
  }
}
