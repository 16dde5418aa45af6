import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    // Generous bounds, not speed checks: some tests start the command line or a run as a child
    // process, which takes several times longer on a loaded machine. A hang still ends the test.
    testTimeout: 300_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Two cores: two files at a time keeps the shared PostgreSQL and the machine responsive.
    maxWorkers: 2,
    env: { VERITE_LOG_LEVEL: 'silent', VERITE_LOG_FORMAT: 'json' },
  },
});
