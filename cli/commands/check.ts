import type { Command } from 'commander';
import type { KnownSources } from '../../extractors/types.ts';
import { UsageError } from '../../lib/errors.ts';
import { redactDeep, redactString } from '../../lib/logger.ts';
import { checkSources } from '../../pipeline/check.ts';
import { action, commandContext, EXIT, parseList, printError, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';

export function registerCheck(program: Command, known: KnownSources): void {
  program
    .command('check')
    .description("checks each source's configuration, secrets, credentials, scopes, account zone/currency and API version end of life without landing anything")
    .option('--sources <list>', 'only these sources, comma-separated (e.g. shopify,stripe)')
    .option('--format <format>', 'table or json', 'table')
    .option('--as-of <date>', "judge the API versions' end of life on this date (YYYY-MM-DD) instead of today, to plan an upgrade")
    .action(
      action(async (opts: { sources?: string; format: string; asOf?: string }) => {
        if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError(`--format ${opts.format}: expected table or json`);
        if (opts.asOf !== undefined && !isCalendarDate(opts.asOf)) throw new UsageError(`--as-of ${opts.asOf}: expected a date as YYYY-MM-DD`);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        const now = new Date();
        const asOf = opts.asOf ? new Date(`${opts.asOf}T00:00:00Z`) : now;
        const results = await checkSources({ config: ctx.config, log: ctx.log, only: parseList(opts.sources), now, asOf, known });
        const failed = results.length === 0 || results.some((r) => r.level === 'problem');
        if (opts.format === 'json') {
          process.stdout.write(`${JSON.stringify(redactDeep({ asOf: asOf.toISOString().slice(0, 10), ok: !failed, sources: results }))}\n`);
          return failed ? EXIT.failed : EXIT.ok;
        }
        if (results.length === 0) {
          printError(`verite: no source is configured${ctx.configFile ? ` in ${ctx.configFile}` : ''}: add one under "sources" (README, "Running against your real shop")`);
          return EXIT.failed;
        }
        const rows = results.map((r) => ({
          source: r.source,
          status: r.level,
          // A source with a problem or a warning shows those, each with what to do; an ok one what was seen.
          details: r.findings
            .filter((f) => (r.level === 'ok' ? true : f.level !== 'ok'))
            .map((f) => f.message)
            .join('; '),
        }));
        process.stdout.write(redactString(formatTable(rows, ['source', 'status', 'details'])));
        const problems = results.filter((r) => r.level === 'problem').length;
        const warnings = results.filter((r) => r.level === 'warning').length;
        const judged = opts.asOf ? ` (API versions judged on ${opts.asOf})` : '';
        process.stdout.write(
          problems
            ? `\n${problems} source${problems === 1 ? ' has a problem' : 's have problems'}${warnings ? `, ${warnings} a warning` : ''}: fix ${problems === 1 ? 'it' : 'them'} before the first run${judged}.\n`
            : warnings
              ? `\nNo problem; ${warnings} source${warnings === 1 ? ' has a warning' : 's have warnings'} to act on${judged}.\n`
              : `\nEvery source is ready${judged}.\n`,
        );
        return failed ? EXIT.failed : EXIT.ok;
      }),
    );
}

function isCalendarDate(text: string): boolean {
  const t = Date.parse(`${text}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(t) && new Date(t).toISOString().startsWith(text);
}
