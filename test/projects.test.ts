import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, isLive, testProjects } from './projects.js';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('test projects (vitest.config.ts)', () => {
  const { pure, live } = testProjects(ROOT);

  it('puts every test file in exactly one project', () => {
    expect(pure.filter((f) => live.includes(f))).toEqual([]);
    expect(pure).toContain('test/projects.test.ts');
    expect(pure.length + live.length).toBeGreaterThan(100);
  });

  it.each([
    // derive is pure by design (one formula per file, captures in, view out)
    ['test/derive/quorum.test.ts', false],
    ['test/expose/golden-exposition.test.ts', false],
    // starts etcd through harness/etcd-cluster.ts → harness/processes.ts → node:child_process
    ['test/harness/etcd-cluster.test.ts', true],
    // an in-process express app on loopback
    ['test/alerts/history-routes.test.ts', true],
    // the CLI as a real process
    ['test/config/cli.test.ts', true],
  ])('%s live=%s', (file, expected) => {
    expect(isLive(ROOT, file)).toBe(expected);
  });

  it('keeps every derive test pure', () => {
    const derive = [...pure, ...live].filter((f) => f.startsWith('test/derive/'));
    expect(derive.length).toBeGreaterThan(10);
    expect(derive.filter((f) => live.includes(f))).toEqual([]);
  });

  it('keeps pure files free of module mocks and global or environment stubs (they share a module cache)', () => {
    // vitest.config.ts runs the pure project with isolate false: a mock or stub left by one file would
    // leak into the next one in the same worker.
    const leaky =
      /\bvi\.(mock|doMock|stubGlobal|stubEnv|resetModules)\(|process\.env(\.\w+|\[[^\]]+\])\s*=[^=]/;
    expect(pure.filter((f) => leaky.test(readFileSync(path.join(ROOT, f), 'utf8')))).toEqual([]);
  });

  it('reads every import form, side-effect imports included', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'projects-'));
    try {
      const file = path.join(dir, 'sample.ts');
      writeFileSync(
        file,
        [
          "import 'node:http';",
          "import type { A } from './types.js';",
          "export { b } from './b.js';",
          "const c = await import('./c.js');",
          "// import './commented-out.js';",
        ].join('\n'),
      );
      expect(importsOf(file).sort()).toEqual(['./b.js', './c.js', './types.js', 'node:http']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
