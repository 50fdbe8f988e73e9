import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { createBenchmarkRoutes } from '../../src/loadgen/api-routes.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { errorHandler } from '../../src/http/errors.js';
import { createLogger } from '../../src/util/logger.js';

export interface BenchApi {
  /** URL of POST/GET /api/v1/performance/benchmark. */
  readonly base: string;
  /** The temporary --data-dir holding the results file. */
  readonly dataDir: string;
  /** Closes the server and removes `dataDir`. */
  close(): Promise<void>;
}

/** The benchmark routes alone on a local port, against `endpoints`, with a fresh temporary data dir. */
export async function startBenchApi(endpoints: readonly string[], tmpPrefix: string): Promise<BenchApi> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), tmpPrefix));
  const config = resolveConfig({ flags: { endpoints: endpoints.join(','), 'data-dir': dataDir } });
  const log = createLogger('silent', 'json');
  const app = express();
  app.use('/api/v1', createBenchmarkRoutes({ config, log }));
  app.use(errorHandler(log));
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/performance/benchmark`,
    dataDir,
    close: async () => {
      await new Promise((r) => server.close(r));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
