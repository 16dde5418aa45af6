import type { Command } from 'commander';
import { migrateToLatest } from '../../warehouse/migrate.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply the warehouse migrations')
    .action(
      action(async () => {
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(
          ctx.log,
          async (warehouse) => {
            const result = await migrateToLatest(warehouse.db);
            const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
            const done = [
              ...(applied.length ? [`applied ${applied.join(', ')}`] : []),
              // A warehouse migrated on PostgreSQL 14 or 15 whose server is now 16 or later (warehouse/migrate.ts).
              ...(result.rewritten.length ? [`wrote ${result.rewritten.join(' and ')} again for this server's PostgreSQL (the warehouse was migrated on an older one)`] : []),
            ];
            process.stdout.write(`${warehouse.describe}: ${done.length ? done.join('; ') : 'already up to date'}\n`);
            return EXIT.ok;
          },
          { migrate: false },
        );
      }),
    );
}
