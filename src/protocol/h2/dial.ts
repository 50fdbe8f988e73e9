import net from 'node:net';
import tls from 'node:tls';
import { classifyTransportError } from '../../util/classify-transport.js';
import { formatAuthority } from '../../util/endpoint.js';
import { ConnectionResetError, ConnectTimeoutError, ProtocolError } from '../../util/errors.js';

export interface H2Target {
  host: string;
  port: number;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** `http(s)://host:port` of a target, as errors name it. */
export function targetEndpoint(target: H2Target): string {
  return `${target.tls ? 'https' : 'http'}://${formatAuthority(target.host, target.port)}`;
}

/** The TLS server did not select `h2` by ALPN (RFC 7540 §3.3): it is not an HTTP/2 server we can use. */
export class AlpnError extends ProtocolError {
  constructor(
    endpoint: string,
    readonly negotiated: string | false | null,
  ) {
    super(endpoint, `TLS server selected ALPN ${!negotiated ? 'none' : `"${negotiated}"`}, not "h2"`);
  }
}

/**
 * Opens the TCP (or TLS, offering ALPN `h2`, RFC 7540 §3.3) socket of an HTTP/2 connection; resolves
 * once it is connected, rejects within `timeoutMs` with a classified MemberRequestError.
 */
export function dialH2Socket(target: H2Target, timeoutMs: number): Promise<net.Socket> {
  const endpoint = targetEndpoint(target);
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tls.connect({
          host: target.host,
          port: target.port,
          ALPNProtocols: ['h2'],
          ...target.tls,
          servername: net.isIP(target.host) ? undefined : target.host,
        })
      : net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => fail(new ConnectTimeoutError(endpoint, timeoutMs)), timeoutMs);
    const closed = (): void =>
      fail(new ConnectionResetError(endpoint, { detail: 'closed before the connection was set up' }));
    const fail = (err: unknown): void => {
      clearTimeout(timer);
      socket.removeListener('close', closed);
      socket.removeListener('error', fail);
      // A late 'error' after we gave up must not become an uncaught exception.
      socket.on('error', () => undefined);
      // The member's certificate, while the failed socket still has it: an expired one's date goes in the message.
      const peer = target.tls ? (socket as tls.TLSSocket).getPeerCertificate?.() : undefined;
      socket.destroy();
      reject(
        classifyTransportError(err, {
          endpoint,
          dialTimeoutMs: timeoutMs,
          ...(peer?.valid_to ? { peerCertificate: peer } : {}),
        }),
      );
    };
    socket.once('error', fail);
    socket.once('close', closed);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      if (target.tls) {
        const alpn = (socket as tls.TLSSocket).alpnProtocol;
        if (alpn !== 'h2') return fail(new AlpnError(endpoint, alpn));
      }
      clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.removeListener('close', closed);
      resolve(socket);
    });
  });
}
