import type { Command } from 'commander';
import type { KnownSources } from '../../extractors/types.ts';
import { UsageError } from '../../lib/errors.ts';
import { isCalendarDate } from '../../lib/dates.ts';
import { redactDeep, redactString } from '../../lib/logger.ts';
import { checkConfig, checkSources } from '../../pipeline/check.ts';
import { checkRuntime } from '../../pipeline/runtime-check.ts';
import { checkWarehouse } from '../../pipeline/warehouse-check.ts';
import { checkDelivery, deliversAnything } from '../../scheduler/delivery-check.ts';
import { action, commandContext, EXIT, parseList, printError, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';

/** The names `--sources` takes that are not sources: the warehouse, the delivery, the config and the Node.js line. */
const NOT_SOURCES: ReadonlySet<string> = new Set(['warehouse', 'delivery', 'config', 'node']);

export function registerCheck(program: Command, known: KnownSources): void {
  program
    .command('check')
    .description("checks the warehouse (DATABASE_URL), each source's configuration, secrets, credentials, scopes, account zone/currency and API version end of life, where reports and alerts go, the alert rules and schedules, and the Node.js line's end of life, without landing or sending anything")
    .option('--sources <list>', 'only these sources, comma-separated (e.g. shopify,stripe; warehouse for the warehouse, delivery for reports and alerts, config for the alert rules and schedules, node for the Node.js verite runs on)')
    .option('--format <format>', 'table or json', 'table')
    .option('--as-of <date>', "judge the API versions' and the Node.js line's end of life on this date (YYYY-MM-DD) instead of today, to plan an upgrade")
    .action(
      action(async (opts: { sources?: string; format: string; asOf?: string }) => {
        if (opts.format !== 'table' && opts.format !== 'json') throw new UsageError(`--format ${opts.format}: expected table or json`);
        if (opts.asOf !== undefined && !isCalendarDate(opts.asOf)) throw new UsageError(`--as-of ${opts.asOf}: expected a date as YYYY-MM-DD`);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        const now = new Date();
        const asOf = opts.asOf ? new Date(`${opts.asOf}T00:00:00Z`) : now;
        // `warehouse`, `delivery` and `config` in --sources name the warehouse, where reports and
        // alerts go, and the alert rules and schedules, `node` the Node.js verite runs on; --sources
        // without them leaves them out. Without --sources, delivery is checked when the config
        // delivers anything.
        const listed = parseList(opts.sources, '--sources');
        const withWarehouse = !listed?.length || listed.includes('warehouse');
        const withDelivery = listed?.length ? listed.includes('delivery') : deliversAnything(ctx.config);
        const withConfig = !listed?.length || listed.includes('config');
        const withNode = !listed?.length || listed.includes('node');
        const sourcesListed = listed?.filter((s) => !NOT_SOURCES.has(s));
        const onlyWarehouse = Boolean(listed?.length) && !sourcesListed?.length;
        const [warehouse, delivery, results] = await Promise.all([
          withWarehouse ? checkWarehouse({ log: ctx.log, reportingTimezone: ctx.config.reportingTimezone }) : Promise.resolve(null),
          withDelivery ? checkDelivery({ config: ctx.config }) : Promise.resolve(null),
          onlyWarehouse ? Promise.resolve([]) : checkSources({ config: ctx.config, log: ctx.log, only: sourcesListed, now, asOf, known }),
        ]);
        // What run and schedule would refuse at start, judged by their own functions.
        const config = withConfig ? checkConfig(ctx.config, known) : null;
        const node = withNode ? checkRuntime(process.versions.node, asOf) : null;
        const failed =
          (results.length === 0 && !onlyWarehouse) || results.some((r) => r.level === 'problem') || warehouse?.level === 'problem' || delivery?.level === 'problem' || config?.level === 'problem';
        if (opts.format === 'json') {
          process.stdout.write(
            `${JSON.stringify(redactDeep({ asOf: asOf.toISOString().slice(0, 10), ok: !failed, ...(warehouse ? { warehouse } : {}), ...(config ? { config } : {}), ...(delivery ? { delivery } : {}), ...(node ? { node } : {}), sources: results }))}\n`,
          );
          return failed ? EXIT.failed : EXIT.ok;
        }
        if (results.length === 0 && !onlyWarehouse) {
          const demo = ctx.demo ? ' (the demo shop\'s sources are simulated: there is nothing of theirs to check)' : '';
          printError(`verite: no source is configured${ctx.configFile ? ` in ${ctx.configFile}` : ''}: add one under "sources" (README, "Running against your real shop")${demo}`);
          return EXIT.failed;
        }
        // The config's line when it has something to say, or was asked for: a sound config adds no line to every check.
        const configShown = config && (config.level !== 'ok' || Boolean(listed?.includes('config')));
        // The Node.js line's too: a supported one adds no line unless asked for.
        const nodeShown = node && (node.level !== 'ok' || Boolean(listed?.includes('node')));
        const checked = [
          ...(warehouse ? [{ source: 'warehouse', level: warehouse.level, findings: warehouse.findings }] : []),
          ...(configShown ? [{ source: 'config', level: config.level, findings: config.findings }] : []),
          ...(nodeShown ? [{ source: 'node', level: node.level, findings: node.findings }] : []),
          ...results,
          ...(delivery ? [{ source: 'delivery', level: delivery.level, findings: delivery.findings }] : []),
        ];
        const rows = checked.map((r) => ({
          source: r.source,
          status: r.level,
          // A source with a problem or a warning shows those, each with what to do; an ok one what was seen.
          details: r.findings
            .filter((f) => (r.level === 'ok' ? true : f.level !== 'ok'))
            .map((f) => f.message)
            .join('; '),
        }));
        process.stdout.write(redactString(formatTable(rows, ['source', 'status', 'details'])));
        // "the warehouse, 2 sources and the delivery", "1 source": who is at a level, with the verb that agrees.
        // The Node.js line is the machine's, not the shop's: said in a sentence of its own below.
        const who = (level: string): { names: string; many: boolean } | null => {
          const hit = checked.filter((r) => r.level === level && r.source !== 'node');
          if (!hit.length) return null;
          const sources = hit.filter((r) => !NOT_SOURCES.has(r.source)).length;
          const parts = [
            hit.some((r) => r.source === 'warehouse') ? 'the warehouse' : '',
            hit.some((r) => r.source === 'config') ? 'the config' : '',
            sources ? `${sources} source${sources === 1 ? '' : 's'}` : '',
            hit.some((r) => r.source === 'delivery') ? 'the delivery of reports and alerts' : '',
          ].filter(Boolean);
          const names = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0]!;
          return { names, many: hit.length > 1 };
        };
        const problems = who('problem');
        const warnings = who('warning');
        const judged = opts.asOf ? ` (API versions judged on ${opts.asOf})` : '';
        const readyParts = [warehouse ? 'the warehouse' : '', configShown ? 'the config' : '', results.length ? 'every source' : '', delivery ? 'the delivery of reports and alerts' : ''].filter(Boolean);
        const ready = `${capitalize(readyParts.length > 1 ? `${readyParts.slice(0, -1).join(', ')} and ${readyParts.at(-1)}` : (readyParts[0] ?? ''))} ${readyParts.length > 1 ? 'are' : 'is'} ready`;
        // `--sources node` alone: nothing of the shop's was checked, so no sentence of it.
        const shopSaid = readyParts.length > 0 || problems !== null || warnings !== null;
        if (shopSaid) {
          process.stdout.write(
            problems
              ? `\n${capitalize(problems.names)} ${problems.many ? 'have problems' : 'has a problem'}${warnings ? `, ${warnings.names} ${warnings.many ? 'have warnings' : 'a warning'}` : ''}: fix ${problems.many ? 'them' : 'it'} before the first run${judged}.\n`
              : warnings
                ? `\nNo problem; ${warnings.names} ${warnings.many ? 'have warnings' : 'has a warning'} to act on${judged}.\n`
                : `\n${ready}${judged}.\n`,
          );
        }
        if (nodeShown) {
          const on = opts.asOf ? ` (judged on ${opts.asOf})` : '';
          const said = node.level === 'ok' ? `is supported${on}` : `has a warning to act on${on}: see the node line`;
          process.stdout.write(`${shopSaid ? '' : '\n'}Node.js ${process.versions.node} ${said}.\n`);
        }
        return failed ? EXIT.failed : EXIT.ok;
      }),
    );
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
