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
            process.stdout.write(
              `${warehouse.describe}: ${applied.length ? `applied ${applied.join(', ')}` : 'already up to date'}\n`,
            );
            return EXIT.ok;
          },
          { migrate: false },
        );
      }),
    );
}
