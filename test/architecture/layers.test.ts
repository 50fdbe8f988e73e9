// Dependency rules of the code base, checked on every import (static, `export … from`, dynamic `import()`,
// type-only) as TypeScript itself reads them:
//   - production code (src/, bin/) imports only production code;
//   - the tooling (harness/, scripts/, perf/) never imports test/, and harness/, which test/, scripts/ and
//     perf/ all use, imports only src/;
//   - inside src/, folders form the layers below: a folder imports only folders in lower layers, never one
//     above it or beside it;
//   - no two files of src/ import each other, directly or through others.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf as specifiersOf } from '../projects.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * The folders of src/ (and its two top-level files), lowest first. Data flows up: collect (I/O per
 * member) -> derive (pure) -> expose (names and HELP); the features sit on that, the HTTP server on the
 * features, the entry points on everything. Folders in one layer are siblings and may not import each
 * other.
 */
const LAYERS: readonly (readonly string[])[] = [
  // Error classes with stable codes, durations, the logger and its levels, the package version.
  ['util'],
  // Configuration types and their one table of flags, environment and YAML keys; parses, opens nothing.
  ['config'],
  // Wire formats and transports: HTTP/2, gRPC, protobuf, Prometheus text. Know nothing of etcd's meaning.
  ['protocol'],
  // etcd's API as typed calls and answers (member client, discovery, TLS material).
  ['etcd'],
  // One snapshot per cluster: the source table and the driver that runs it against every member.
  ['collect'],
  // Pure formulas from a snapshot to a ClusterView.
  ['derive'],
  // The metric table and the Prometheus registries rendering it.
  ['expose'],
  // Persisted event logs (leader and alert history); shared HTTP error helpers and OpenAPI pieces.
  ['history', 'http'],
  // The features: alert webhook and history API, the load generator, the etcdctl clone, and the monitor
  // (collection rounds -> view -> registry) with the library API built on it.
  ['alerts', 'loadgen', 'ctl', 'monitor'],
  // The exporter's HTTP server: mounts every feature's routes.
  ['server'],
  // Entry points: the CLI and the package's library entry.
  ['cli', 'index'],
];

/** Source files below `dir` (recursive), relative to the repository root. */
function sourceFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  return readdirSync(abs).flatMap((name) => {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) return name === 'results' ? [] : sourceFiles(rel);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [rel] : [];
  });
}

interface Import {
  readonly from: string;
  /** The imported file or folder, relative to the repository root (extension as written). */
  readonly to: string;
}

/** Every relative import of `file`, resolved against its folder; packages and node: modules are left out. */
function importsOf(file: string): Import[] {
  return specifiersOf(path.join(ROOT, file))
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({ from: file, to: path.normalize(path.join(path.dirname(file), spec)) }));
}

const top = (file: string) => file.split(path.sep)[0] as string;
const importsIn = (dirs: readonly string[]) => dirs.flatMap(sourceFiles).flatMap(importsOf);
const show = (imports: readonly Import[]) => imports.map((i) => `${i.from} -> ${i.to}`);

/** `src/derive/view.ts` -> `derive`; the top-level `src/cli.ts` -> `cli`. */
function srcFolder(file: string): string {
  const parts = file.split(path.sep);
  return parts.length === 2 ? (parts[1] as string).replace(/\.[mc]?[jt]s$/, '') : (parts[1] as string);
}

const srcImports = importsIn(['src']);

describe('dependency rules', () => {
  it('the scan reads the real import graph', () => {
    expect(sourceFiles('src').length).toBeGreaterThan(150);
    expect(srcImports.length).toBeGreaterThan(500);
    expect(importsIn(['harness', 'scripts', 'perf']).length).toBeGreaterThan(30);
    // An `export … from`, a type-only import and a dynamic import() are all seen.
    const has = (from: string, to: string) =>
      srcImports.some((i) => i.from === path.normalize(from) && i.to === path.normalize(to));
    expect(has('src/index.ts', 'src/monitor/library.js')).toBe(true);
    expect(has('src/monitor/library.ts', 'src/derive/view.js')).toBe(true);
    expect(has('src/server/run-exporter.ts', 'src/loadgen/api-routes.js')).toBe(true);
  });

  it('production code (src/, bin/) imports only production code', () => {
    expect(show(srcImports.filter((i) => top(i.to) !== 'src'))).toEqual([]);
    // bin/ starts the build of src/ (dist/) and nothing else.
    expect(show(importsIn(['bin']).filter((i) => top(i.to) !== 'dist'))).toEqual([]);
  });

  it('harness/, scripts/ and perf/ never import test/; harness/ imports only src/', () => {
    const tooling = importsIn(['harness', 'scripts', 'perf']);
    expect(show(tooling.filter((i) => top(i.to) === 'test'))).toEqual([]);
    const harness = tooling.filter((i) => top(i.from) === 'harness');
    expect(show(harness.filter((i) => !['src', 'harness'].includes(top(i.to))))).toEqual([]);
  });

  it('every folder of src/ has a layer, once', () => {
    const listed = LAYERS.flat();
    expect(new Set(listed).size).toBe(listed.length);
    const folders = [...new Set(sourceFiles('src').map(srcFolder))].sort();
    expect(folders).toEqual([...listed].sort());
  });

  it('no folder of src/ imports a folder above it or beside it', () => {
    const layer = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i] as const)));
    const violations = srcImports.filter((i) => {
      const [from, to] = [srcFolder(i.from), srcFolder(i.to)];
      return from !== to && (layer.get(to) ?? Infinity) >= (layer.get(from) ?? -Infinity);
    });
    expect(show(violations)).toEqual([]);
  });

  it('no import cycle between files of src/', () => {
    const graph = new Map<string, string[]>();
    for (const i of srcImports) {
      const to = i.to.replace(/\.js$/, '.ts');
      graph.set(i.from, [...(graph.get(i.from) ?? []), to]);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
