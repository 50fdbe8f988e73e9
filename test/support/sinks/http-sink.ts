import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../../../harness/processes.js';

/** One request a sink received, body kept as text and, when it parses, as JSON. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  readonly json: unknown;
  /** Date.now() when the body had fully arrived. */
  readonly receivedAt: number;
}

export interface SinkReply {
  status: number;
  body?: unknown;
  /** application/json unless given: Slack's incoming webhooks answer `ok` as text/html. */
  contentType?: string;
}

export interface HttpSinkOptions {
  /** Named in wait timeouts, e.g. "slack". */
  name: string;
  /** What to answer; 200 with an empty JSON object by default. */
  reply?: (req: RecordedRequest) => SinkReply;
}

/** A loopback HTTP server standing in for a notification service (Slack, PagerDuty, a webhook). */
export interface HttpSink {
  readonly name: string;
  readonly url: string;
  readonly requests: readonly RecordedRequest[];
  /** Resolves with the first recorded request (in arrival order) that `match` accepts. */
  waitForRequest(
    match: (req: RecordedRequest) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/** Starts an HTTP sink on a free loopback port that records every request. */
export async function startHttpSink(opts: HttpSinkOptions): Promise<HttpSink> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json,
        receivedAt: Date.now(),
      };
      requests.push(recorded);
      const reply = opts.reply?.(recorded) ?? { status: 200, body: {} };
      res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' });
      res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    name: opts.name,
    url: `http://127.0.0.1:${port}`,
    requests,
    waitForRequest(match, what, timeoutMs = 60_000) {
      return waitFor(() => requests.find(match), {
        timeoutMs,
        intervalMs: 100,
        what: `${opts.name} sink: ${what}`,
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
