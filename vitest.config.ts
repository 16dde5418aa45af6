import { defineConfig } from 'vitest/config';
import { isolatedGlobs } from './tests/support/isolated-files.ts';

export default defineConfig({
  test: {
    globalSetup: ['tests/support/global-setup.ts'],
    // Generous bounds, not speed checks: some tests start the command line or a run as a child
    // process, which takes several times longer on a loaded machine. A hang still ends the test.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Two cores: two files at a time keeps the shared PostgreSQL and the machine responsive.
    maxWorkers: 2,
    env: { VERITE_LOG_LEVEL: 'silent', VERITE_LOG_FORMAT: 'json' },
    projects: [
      {
        // The other files run one after another in processes that keep their loaded modules:
        // loading verite's modules anew for each of them cost about a second a file, a fifth
        // of the suite. tests/support/shared-process.ts gives each file a clean start.
        extends: true,
        test: { name: 'shared', include: ['tests/**/*.test.ts'], exclude: isolatedGlobs, isolate: false, setupFiles: ['tests/support/shared-process.ts'] },
      },
      { extends: true, test: { name: 'isolated', include: isolatedGlobs } },
    ],
  },
});
