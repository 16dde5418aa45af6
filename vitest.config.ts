import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: two files at a time keeps the shared PostgreSQL and the machine responsive.
    maxWorkers: 2,
    env: { VERITE_LOG_LEVEL: 'silent', VERITE_LOG_FORMAT: 'json' },
  },
});
