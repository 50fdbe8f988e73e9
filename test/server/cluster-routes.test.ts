// GET /cluster/status answers the shared builder's body (src/monitor/cluster-status.ts), byte for byte,
// through the real router: a view is served as clusterStatusJson renders it, and the cluster selection
// errors still come first.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView } from '../../src/derive/view.js';
import { clusterStatusJson } from '../../src/monitor/cluster-status.js';
import type { Monitor } from '../../src/monitor/monitor.js';
import { createClusterRoutes } from '../../src/server/cluster-routes.js';
import { alteredView, capturedView } from '../monitor/status-views.js';

const views: Record<string, ClusterView | undefined> = {
  prod: capturedView(),
  west: alteredView(),
  east: undefined,
};
/** The two methods /cluster/status reads of a Monitor. */
const monitor = {
  clusterNames: () => Object.keys(views),
  view: (name = 'prod') => views[name],
} as unknown as Monitor;

let server: ReturnType<ReturnType<typeof express>['listen']>;
let base: string;
beforeAll(async () => {
  const app = express();
  app.use(createClusterRoutes(monitor));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('GET /cluster/status', () => {
  it.each(['prod', 'west'])('serves clusterStatusJson of cluster %s', async (name) => {
    const res = await fetch(`${base}/cluster/status?cluster=${name}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(JSON.stringify(clusterStatusJson(views[name] as ClusterView)));
  });

  it('the default cluster is the first one', async () => {
    const res = await fetch(`${base}/cluster/status`);
    expect(await res.text()).toBe(JSON.stringify(clusterStatusJson(views['prod'] as ClusterView)));
  });

  it('answers 404 for an unknown cluster and 503 before the first round', async () => {
    expect((await fetch(`${base}/cluster/status?cluster=nowhere`)).status).toBe(404);
    expect((await fetch(`${base}/cluster/status?cluster=east`)).status).toBe(503);
  });
});
