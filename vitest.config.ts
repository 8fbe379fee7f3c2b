import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the black-box tests spawn dist/src/main.js: rebuild dist/ first when src/ is newer
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // integration tests spawn daemons and servers; keep the 2-core CI machine calm
    maxWorkers: 2,
  },
});
