// The demo's one loopback HTTP server: it stands in for Slack, PagerDuty, the generic webhook and the
// dead-man's switch of the shipped Alertmanager config and prints every notification on the terminal, and
// it takes `POST /members/<name>/start` to start a stopped etcd member again.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoSink {
  readonly url: string;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
const clock = (): string => new Date().toISOString().slice(11, 19);

/** One line for one notification, or undefined for a repeated dead-man's-switch ping. */
function describe(path: string, body: Json, pings: { count: number }): string | undefined {
  if (path.startsWith('/slack')) {
    const att = (body.attachments as Json[] | undefined)?.[0] ?? {};
    const fields = (att.fields as Array<{ title: string; value: string }> | undefined) ?? [];
    const members = fields.find((f) => f.title === 'Members')?.value;
    return `Slack      ${String(att.title)}${members && members !== '-' ? ` (members: ${members})` : ''}`;
  }
  if (path.startsWith('/pagerduty')) {
    const payload = (body.payload as Json | undefined) ?? {};
    return `PagerDuty  ${String(body.event_action)} [${String(payload.severity)}] ${String(payload.summary)}`;
  }
  if (path.startsWith('/deadmans-switch')) {
    pings.count += 1;
    return pings.count === 1
      ? "dead-man's switch ping (EtcdMonitorWatchdog: the pipeline works; repeated every minute, not printed again)"
      : undefined;
  }
  const alerts = (body.alerts as Array<{ labels: Json }> | undefined) ?? [];
  const names = [...new Set(alerts.map((a) => String(a.labels.alertname)))].join(', ');
  return `webhook    [${String(body.status).toUpperCase()}] ${names}`;
}

/** Starts the sink on a free loopback port; `startMember` starts a stopped member by name. */
export async function startDemoSink(
  startMember: (name: string) => Promise<string>,
  print: (line: string) => void = (line) => console.log(line),
): Promise<DemoSink> {
  const pings = { count: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const control = /^\/members\/([^/]+)\/start$/.exec(path);
      if (control && req.method === 'POST') {
        const name = decodeURIComponent(control[1] as string);
        startMember(name).then(
          (msg) => {
            res.writeHead(200, { 'content-type': 'text/plain' }).end(`${msg}\n`);
          },
          (err: Error) => {
            res.writeHead(409, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
          },
        );
        return;
      }
      let body: Json = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      } catch {
        // Printed as what it is below.
      }
      const line = describe(path, body, pings);
      if (line !== undefined) print(`${clock()} alert notification → ${line}`);
      // Slack answers `ok` as text/html; PagerDuty 202 with JSON; a webhook any 2xx.
      if (path.startsWith('/slack')) res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
      else
        res
          .writeHead(path.startsWith('/pagerduty') ? 202 : 200, { 'content-type': 'application/json' })
          .end('{"status":"success"}');
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}
