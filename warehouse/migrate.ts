import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations } from './migrations/index.ts';
import { WarehouseError } from '../lib/errors.ts';
import { ensureRawTables } from './raw-tables.ts';

/**
 * Applies every pending migration, then creates the raw table of any catalogue stream that has
 * none yet (`ensureRawTables`); throws with the failing migration's name and error.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: 'public',
    migrationTableName: 'verite_migrations',
    migrationLockTableName: 'verite_migrations_lock',
    // Migrations written on parallel branches may land in either order.
    allowUnorderedMigrations: true,
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    throw new WarehouseError(`migration ${failed?.migrationName ?? '?'} failed`, '', [], { cause: result.error });
  }
  await ensureRawTables(db);
  return result;
}
