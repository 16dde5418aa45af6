import { defineConfig } from 'vitest/config';
export default defineConfig({
  test: {
    include: ['tests/scheduler/**/*.test.ts', 'tests/reports/chart-fonts-reads.test.ts', 'tests/config/logger.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 60_000, hookTimeout: 60_000, pool: 'forks', maxWorkers: 1, isolate: false,
    env: { VERITE_LOG_LEVEL: 'silent', VERITE_LOG_FORMAT: 'json' },
  },
});
