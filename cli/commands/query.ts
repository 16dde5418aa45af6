import type { Command } from 'commander';
import { UsageError } from '../../lib/errors.ts';
import { action, commandContext, EXIT, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatCsv, formatTable } from '../format.ts';

export function registerQuery(program: Command): void {
  program
    .command('query')
    .description('run a read-only query against the warehouse and print it')
    .argument('<sql>', 'the SQL to run (in a read-only transaction)')
    .option('--format <format>', 'table, json or csv', 'table')
    .option('--timeout <seconds>', 'statement time-out in seconds', '60')
    .action(
      action(async (text: string, opts: { format: string; timeout: string }) => {
        if (!['table', 'json', 'csv'].includes(opts.format)) throw new UsageError(`--format must be table, json or csv, not ${opts.format}`);
        const timeout = Number(opts.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError('--timeout must be a positive number of seconds');
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          const client = await warehouse.pool.connect();
          try {
            await client.query('begin transaction read only');
            await client.query(`set local statement_timeout = ${Math.round(timeout * 1000)}`);
            const result = await client.query(text);
            await client.query('commit');
            const results = Array.isArray(result) ? result : [result];
            const last = results[results.length - 1]!;
            const columns = last.fields?.map((f: { name: string }) => f.name) ?? [];
            const rows = (last.rows ?? []) as Record<string, unknown>[];
            if (opts.format === 'json') process.stdout.write(`${JSON.stringify(rows)}\n`);
            else if (opts.format === 'csv') process.stdout.write(formatCsv(rows, columns));
            else process.stdout.write(formatTable(rows, columns));
            return EXIT.ok;
          } catch (error) {
            await client.query('rollback').catch(() => undefined);
            throw new Error(`query failed: ${(error as Error).message}`);
          } finally {
            client.release();
          }
        });
      }),
    );
}
