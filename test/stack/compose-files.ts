import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import yaml from 'js-yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const run = promisify(execFile);

/** One service of `docker-compose config` output (paths resolved, variables substituted). */
export interface ComposeService {
  image?: string;
  build?: { context: string } | string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, unknown> | string[];
  healthcheck?: { test: string[] };
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * Runs Debian's `docker-compose config` on the repository's compose file: validates it and returns the
 * normalised form. Throws (with compose's message) when the file is invalid or the binary is missing.
 */
export async function composeConfig(envFile?: string): Promise<ComposeConfig> {
  const args = ['--project-directory', ROOT, '-f', path.join(ROOT, 'docker-compose.yml')];
  if (envFile) args.push('--env-file', envFile);
  // Both profiles, so the benchmark sidecar is validated too.
  const { stdout } = await run('docker-compose', [...args, '--profile', 'bench', 'config'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
  });
  return yaml.load(stdout) as ComposeConfig;
}

export interface BindMount {
  service: string;
  source: string;
  target: string;
}

/** Bind mounts (host path → container path); named volumes are left out. */
export function bindMounts(config: ComposeConfig): BindMount[] {
  return Object.entries(config.services).flatMap(([service, s]) =>
    (s.volumes ?? [])
      .map((v) => v.split(':'))
      .filter(([source]) => source !== undefined && path.isAbsolute(source))
      .map(([source, target]) => ({ service, source: source!, target: target! })),
  );
}

export interface PublishedPort {
  service: string;
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** Ports published on the host, from compose's normalised `ip:host:container/proto` strings. */
export function publishedPorts(config: ComposeConfig): PublishedPort[] {
  return Object.entries(config.services).flatMap(([service, s]) =>
    (s.ports ?? []).map((p) => {
      const m = /^(?:([\d.]+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(p);
      if (!m) throw new Error(`${service}: cannot read port mapping "${p}"`);
      return { service, hostIp: m[1] ?? '0.0.0.0', hostPort: Number(m[2]), containerPort: Number(m[3]) };
    }),
  );
}

/** The `--name=value` / `--name value` flags of a command line, by name (without dashes). */
export function flagsOf(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) out.set(a.slice(2), args[++i]!);
    else out.set(a.slice(2), '');
  }
  return out;
}
