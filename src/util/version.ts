import { readFileSync } from 'node:fs';

/**
 * Package version, read once from package.json. It sits in util/ (the bottom folder) because the monitor, the
 * gRPC user-agent and the landing page all report it. `../../` is the package root from src/util/ under tsx
 * and from dist/util/ (`npm run build`); `../../../` from dist/src/util/ (`tsc -p tsconfig.json`).
 */
export const VERSION: string = (() => {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'etcd-monitor' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
})();
