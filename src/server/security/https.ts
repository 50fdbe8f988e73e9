import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { RequestListener } from 'node:http';
import { loadTlsMaterial } from '../../etcd/tls-material.js';
import type { TlsServerConfig } from './web-config.js';

/** Settings of the web config each file comes from, as errors name them. */
const WEB_TLS_FIELDS = {
  certFile: 'web config tls_server_config.cert_file',
  keyFile: 'web config tls_server_config.key_file',
  caFile: 'web config tls_server_config.client_ca_file',
} as const;

/** Node https options for an exporter-toolkit tls_server_config (cert, key, client CA, client_auth_type). */
export function createHttpsServerOptions(tls: TlsServerConfig): https.ServerOptions {
  const requestCert = tls.clientAuthType !== 'NoClientCert';
  const files = { certFile: tls.certFile, keyFile: tls.keyFile, caFile: tls.clientCaFile };
  const { cert, key, ca } = loadTlsMaterial(files, WEB_TLS_FIELDS) ?? {};
  return {
    cert,
    key,
    ...(ca ? { ca } : {}),
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
