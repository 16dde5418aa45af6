import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import { registerSecret } from '../../lib/logger.ts';
import { grantBiRole } from '../../metrics/bi-role.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';

export function registerBi(program: Command): void {
  const bi = program.command('bi').description('access for BI tools (Looker Studio, Metabase, psql)');
  bi.command('grant')
    .description('create or update a login role that can read the metrics schema and nothing else')
    .requiredOption('--role <name>', 'the role to create or update (e.g. looker_reader)')
    .option('--password-env <var>', 'environment variable holding its password (without it, an existing password is kept)')
    .option('--statement-timeout <duration>', 'longest query the role may run, e.g. 30s, 2min', '30s')
    .action(
      action(async (opts: { role: string; passwordEnv?: string; statementTimeout: string }) => {
        let password: string | undefined;
        if (opts.passwordEnv !== undefined) {
          password = process.env[opts.passwordEnv];
          if (!password) throw new UsageError(`--password-env ${opts.passwordEnv}: that environment variable is not set (or empty)`);
          registerSecret(password);
        }
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          // The embedded demo has a server of its own; the demo's database next to DATABASE_URL's shares the real shop's roles.
          const sharedDemo = warehouse.demo === true && !warehouse.embedded;
          const result = await grantBiRole(warehouse.db, { role: opts.role, password, statementTimeout: opts.statementTimeout, demo: sharedDemo });
          const out = process.stdout;
          out.write(`Role ${result.role} ${result.created ? 'created' : 'updated'} in database ${result.database}: it can read schema metrics and nothing else.\n`);
          out.write(`  readable now: ${result.tables.length ? result.tables.join(', ') : '(no metric table yet: run verite run)'}\n`);
          out.write('  tables the refresh creates later are readable too (default privileges)\n');
          out.write(`  no access to raw, staging, core, ops; read-only by default; statement timeout ${result.statementTimeout}; search_path metrics\n`);
          out.write('  no CREATE in any schema and no temporary tables (checked after the grants)\n');
          if (result.temporaryRevokedFromPublic) {
            out.write(
              `  note: TEMPORARY on database ${result.database} is no longer granted to PUBLIC; another role that creates temporary tables needs GRANT TEMPORARY ON DATABASE ${result.database} TO it\n`,
            );
          }
          out.write(
            result.passwordSet
              ? `  password: set from $${opts.passwordEnv} (sent as a SCRAM-SHA-256 verifier)\n`
              : result.created
                ? '  password: none set, so it cannot log in with a password yet: run again with --password-env VAR\n'
                : '  password: unchanged\n',
          );
          if (sharedDemo && result.created) {
            out.write("  note: roles belong to the whole server, so this one is marked as the demo shop's (its comment): verite --demo bi grant changes no role it did not create\n");
          }
          if (warehouse.embedded) {
            out.write('  note: this is the embedded warehouse, which listens on 127.0.0.1 only while a verite command runs: `verite serve` keeps it up on a fixed port for a BI tool on this machine or through a tunnel (docs/reports.md); otherwise a PostgreSQL server of its own (DATABASE_URL)\n');
          }
          out.write('Connect it as described in docs/bi.md.\n');
          return EXIT.ok;
        });
      }),
    );
}
