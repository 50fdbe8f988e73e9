import { defineConfig } from 'vitest/config';
import { testProjects } from './test/projects.js';

// Pure tests first, in parallel; then live tests one file at a time (see test/projects.ts for which is
// which and why).
const { pure, live } = testProjects(import.meta.dirname);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 90_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'pure', include: pure, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'live', include: live, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
