// Splits the test files into the two vitest projects of vitest.config.ts:
//   pure — neither the file nor any test/ or harness/ module it imports (transitively) starts a process or
//          opens a socket: parsing, derive formulas, renderers. These run in parallel.
//   live — everything else (real etcd, Prometheus, Alertmanager, the CLI as a process, in-process
//          servers on loopback). These run one file at a time: they share 2 cores, and their deadlines
//          (rounds, `for:` clauses, fault proxies) assume no other live test competes for them.
// Decided from imports, not by hand, so a new test cannot land in the wrong project by omission; src/ is
// not followed (production modules import node:net and friends without opening anything at import time).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Node modules whose use means a process or a socket. */
const LIVE_MODULES = /^(node:)?(child_process|net|http|http2|https|tls|dgram)$|^(undici|express)$/;

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : testFiles(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

/**
 * Every module specifier `file` names: static and dynamic imports, re-exports and side-effect imports
 * (`import 'node:http'`), read by TypeScript's own pre-processor — the one test/architecture/layers.test.ts
 * uses, so both agree on what a file imports.
 */
export function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((i) => i.fileName);
}

/** True when `file` (relative to `root`) or a test/harness module it imports reaches a process or socket. */
export function isLive(root: string, file: string): boolean {
  const seen = new Set<string>();
  const stack = [path.resolve(root, file)];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    if (seen.has(current)) continue;
    seen.add(current);
    for (const spec of importsOf(current)) {
      if (LIVE_MODULES.test(spec)) return true;
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(current), spec.replace(/\.js$/, '.ts'));
      const rel = path.relative(root, target);
      if ((rel.startsWith('test/') || rel.startsWith('harness/')) && existsSync(target)) stack.push(target);
    }
  }
  return false;
}

/** Test files below `root/test`, relative to `root`, split by kind. */
export function testProjects(root: string): { pure: string[]; live: string[] } {
  const pure: string[] = [];
  const live: string[] = [];
  for (const abs of testFiles(path.join(root, 'test')).sort()) {
    const rel = path.relative(root, abs);
    (isLive(root, rel) ? live : pure).push(rel);
  }
  return { pure, live };
}
