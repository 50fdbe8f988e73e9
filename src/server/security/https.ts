import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { RequestListener } from 'node:http';
import { ConfigError } from '../../util/errors.js';
import type { TlsServerConfig } from './web-config.js';

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(
      `web config tls_server_config.${what}`,
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
}

/** Node https options for an exporter-toolkit tls_server_config (cert, key, client CA, client_auth_type). */
export function createHttpsServerOptions(tls: TlsServerConfig): https.ServerOptions {
  const requestCert = tls.clientAuthType !== 'NoClientCert';
  return {
    cert: read(tls.certFile, 'cert_file'),
    key: read(tls.keyFile, 'key_file'),
    ...(tls.clientCaFile ? { ca: read(tls.clientCaFile, 'client_ca_file') } : {}),
    requestCert,
    // Only the strict mode lets OpenSSL refuse the handshake; the softer modes are checked per connection below.
    rejectUnauthorized: tls.clientAuthType === 'RequireAndVerifyClientCert',
    minVersion: tls.minVersion,
  };
}

/** Whether a connection satisfies the client_auth_type (for the modes OpenSSL does not enforce by itself). */
export function clientCertAcceptable(socket: TLSSocket, type: TlsServerConfig['clientAuthType']): boolean {
  const presented = Object.keys(socket.getPeerCertificate?.() ?? {}).length > 0;
  switch (type) {
    case 'RequireAnyClientCert':
      return presented;
    case 'VerifyClientCertIfGiven':
      return !presented || socket.authorized;
    case 'RequireAndVerifyClientCert':
      return presented && socket.authorized;
    default:
      return true;
  }
}

/**
 * Creates the exporter's HTTP(S) server: plain HTTP without TLS config, else HTTPS whose connections are dropped
 * when the client certificate does not meet client_auth_type. `reloadTls()` re-reads the certificate files (for
 * rotation; the caller decides when, e.g. on SIGHUP).
 */
export function createExporterServer(
  handler: RequestListener,
  tls: TlsServerConfig | undefined,
): { server: http.Server | https.Server; reloadTls: () => void } {
  if (!tls) return { server: http.createServer(handler), reloadTls: () => undefined };
  const server = https.createServer(createHttpsServerOptions(tls), handler);
  server.on('secureConnection', (socket: TLSSocket) => {
    if (!clientCertAcceptable(socket, tls.clientAuthType)) socket.destroy();
  });
  return {
    server,
    reloadTls: () => server.setSecureContext(createHttpsServerOptions(tls)),
  };
}
