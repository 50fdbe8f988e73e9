import { defineConfig } from 'vitest/config';
import { testProjects } from './test/projects.js';

// Pure tests first, in parallel; then live tests one file at a time (see test/projects.ts for which is
// which and why). Pure files share worker threads and their module cache (isolate false): none mocks a
// module, stubs a global or sets process.env, and importing src/ once per worker instead of once per file
// halved the pure project (91 → 41-50 s on a loaded machine, ≈20 → ≈10 s in CI).
const { pure, live } = testProjects(import.meta.dirname);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'pure', include: pure, isolate: false, pool: 'threads', sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'live', include: live, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
