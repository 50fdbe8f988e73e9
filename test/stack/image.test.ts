import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EtcdCluster } from '../../harness/etcd-cluster.js';
import { freePort } from '../../harness/free-port.js';
import { spawnTracked, terminate, waitFor, type TrackedProcess } from '../../harness/processes.js';
import { ROOT, composeConfig, run } from './compose-files.js';

// Docker cannot run here, so this replays the Dockerfile's final stage on the host: compiled dist/, only
// production dependencies, the files the stage COPYs, its ENV, ENTRYPOINT + the compose command, and the
// HEALTHCHECK command, against a real 3-member etcd.

const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const jsonArray = (re: RegExp): string[] => JSON.parse(re.exec(finalStage)?.[1] ?? 'null') as string[];

let app: string;
let cluster: EtcdCluster;
let exporter: TrackedProcess | undefined;
let port: number;

/** Transpiles src/ to dist/ file by file (what `npm run build` emits, minus type checking done elsewhere). */
function transpile(srcDir: string, outDir: string): number {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  let count = 0;
  for (const entry of readdirSync(srcDir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.ts') || entry.endsWith('.d.ts')) continue;
    const out = ts.transpileModule(readFileSync(path.join(srcDir, entry), 'utf8'), {
      // The package is ESM; per-file transpiling cannot see package.json, so say so explicitly.
      compilerOptions: {
        ...config?.options,
        module: ts.ModuleKind.ES2022,
        sourceMap: false,
        declaration: false,
      },
      fileName: entry,
    });
    const target = path.join(outDir, entry.replace(/\.ts$/, '.js'));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, out.outputText);
    count++;
  }
  return count;
}

/** Directory size in bytes. */
function du(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const s = statSync(path.join(dir, entry), { throwIfNoEntry: false });
    if (s?.isFile()) total += s.size;
  }
  return total;
}

beforeAll(async () => {
  app = mkdtempSync(path.join(os.tmpdir(), 'image-app-'));
  expect(transpile(path.join(ROOT, 'src'), path.join(app, 'dist'))).toBeGreaterThan(20);
  // The production dependency tree, as `npm prune --omit=dev` in the build stage leaves it.
  const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT });
  for (const dir of stdout.split('\n').filter((d) => d.startsWith(path.join(ROOT, 'node_modules')))) {
    cpSync(dir, path.join(app, path.relative(ROOT, dir)), { recursive: true });
  }
  for (const m of finalStage.matchAll(/^COPY\s+(?!--from)(.+)\s+(\S+)$/gm)) {
    for (const src of m[1]!.trim().split(/\s+/))
      cpSync(path.join(ROOT, src), path.join(app, src), { recursive: true });
  }
  cluster = await startCluster({ size: 3 });
}, 120_000);

afterAll(async () => {
  if (exporter) await terminate(exporter, 'SIGTERM');
  await cluster?.destroy();
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('the image, replayed without Docker', () => {
  it('carries only production dependencies, and they are small', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies))
      expect(existsSync(path.join(app, 'node_modules', dep)), dep).toBe(true);
    // Build and test tools must not be pulled in by any production package (a few @types/* are).
    for (const tool of ['typescript', 'tsx', 'vitest', 'eslint', 'prettier', 'autocannon']) {
      expect(pkg.devDependencies[tool], tool).toBeDefined();
      expect(existsSync(path.join(app, 'node_modules', tool)), `${tool} in the image`).toBe(false);
    }
    expect(du(path.join(app, 'node_modules'))).toBeLessThan(80 * 1024 * 1024);
  });

  it('starts with ENTRYPOINT and the compose command, serves metrics, and passes its HEALTHCHECK', async () => {
    const entrypoint = jsonArray(/^ENTRYPOINT\s+(\[.*\])$/m);
    const healthcheck = jsonArray(/^\s+CMD\s+(\[.*\])$/m);
    expect(entrypoint[0]).toBe('node');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const m of finalStage.matchAll(/(ETCD_MONITOR_[A-Z_]+|NODE_ENV)=(\S+)/g)) env[m[1]!] = m[2]!;
    port = await freePort();
    // Only what differs on a host: real endpoints, a free loopback port, a writable data dir.
    const overrides: Record<string, string> = {
      endpoints: cluster.endpoints.join(','),
      'api-host': '127.0.0.1',
      'api-port': String(port),
      'data-dir': path.join(app, 'data'),
    };
    env.ETCD_MONITOR_API_PORT = String(port);
    const command = ((await composeConfig()).services.exporter?.command ?? []).map((arg) => {
      const m = /^--([a-z-]+)=/.exec(arg);
      return m && overrides[m[1]!] !== undefined ? `--${m[1]}=${overrides[m[1]!]}` : arg;
    });
    expect(command[0]).toBe('serve');
    exporter = spawnTracked(entrypoint[0]!, [...entrypoint.slice(1), ...command], {
      cwd: app,
      env,
      label: 'image',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => {
        if (!exporter?.running) throw new Error(`exited:\n${exporter?.output()}`);
        return (await fetch(`${url}/ready`)).ok;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the image entrypoint to become ready' },
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('etcd_monitor_cluster_quorum_available{cluster="demo"} 1');
    expect(metrics).toMatch(
      /^etcd_server_has_leader\{cluster="demo",member="[^"]+",instance="127\.0\.0\.1:\d+"\} 1$/m,
    );

    const check = () =>
      run(healthcheck[0]!, healthcheck.slice(1), { cwd: app, env }).then(
        () => 'healthy',
        () => 'unhealthy',
      );
    expect(await check()).toBe('healthy');
    await terminate(exporter, 'SIGTERM');
    expect(await check()).toBe('unhealthy');
  }, 60_000);
});
