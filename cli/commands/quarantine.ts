import type { Command } from 'commander';
import type { KnownSources } from '../../extractors/types.ts';
import { UsageError } from '../../lib/errors.ts';
import { redactString } from '../../lib/logger.ts';
import {
  ActionOutcomes, countHeldRecords, currentActor, dropHeldRecords, dropMatchingRecords, LISTED_OUTCOMES, listHeldRecords, readHeldRecords, refuseEmptyFilter, refuseUnknownFilterNames,
  retryHeldRecords, showHeldRecord, type HeldFilter, type HeldKind,
} from '../../pipeline/quarantine.ts';
import { postLoadSteps } from '../../pipeline/steps.ts';
import { action, commandContext, countOption, EXIT, interruptSignal, printError, withWarehouse, type GlobalOptions } from '../context.ts';
import { formatTable } from '../format.ts';
import { OutputWriter } from '../output.ts';

interface FilterOptions {
  source?: string;
  stream?: string;
  kind?: string;
  reason?: string;
}

/** The filters given, checked before the warehouse is opened (their names are checked once it is: {@link refuseUnknownFilterNames}). */
function filterOf(opts: FilterOptions): HeldFilter {
  refuseEmptyFilter(opts);
  if (opts.kind !== undefined && opts.kind !== 'set-aside' && opts.kind !== 'quarantined') throw new UsageError(`--kind ${opts.kind}: expected set-aside or quarantined`);
  const kind: HeldKind | undefined = opts.kind === 'set-aside' ? 'set aside' : (opts.kind as HeldKind | undefined);
  return { source: opts.source, stream: opts.stream, reason: opts.reason, kind };
}

/** Whether any filter option is given (an empty one is refused by {@link filterOf}). */
const hasFilter = (opts: FilterOptions): boolean => opts.source !== undefined || opts.stream !== undefined || opts.kind !== undefined || opts.reason !== undefined;

function formatOf(format: string): 'table' | 'json' {
  if (format !== 'table' && format !== 'json') throw new UsageError(`--format must be table or json, not ${format}`);
  return format;
}

const withFilters = (command: Command) =>
  command
    .option('--source <source>', 'only records of this source (e.g. shopify)')
    .option('--stream <stream>', 'only records of this stream (e.g. orders)')
    .option('--kind <kind>', 'only set-aside or quarantined records')
    .option('--reason <words>', 'only records whose reason contains these words');

/** The records `verite quarantine list` shows in a table unless told otherwise. */
const LIST_LIMIT = 100;

/** A reason on one table line. */
function oneLine(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/**
 * `verite quarantine list|show|drop|retry`: the records the loader quarantined and the ones the
 * transform set aside, in one place (see pipeline/quarantine.ts).
 */
export function registerQuarantine(program: Command, known: KnownSources): void {
  const quarantine = program
    .command('quarantine')
    .description('records held back: quarantined by the loader, or set aside by the transform (list, show, drop, retry)');

  withFilters(quarantine.command('list').description('list the held records by source and reason'))
    .option('--format <format>', 'table or json', 'table')
    .option('--limit <n>', `at most this many records (table: ${LIST_LIMIT} by default; json: every one unless given)`)
    .option('--all', 'every record, however many')
    .action(
      action(async (opts: FilterOptions & { format: string; limit?: string; all?: boolean }) => {
        const format = formatOf(opts.format);
        const filter = filterOf(opts);
        const given = opts.limit !== undefined ? countOption('--limit', opts.limit) : undefined;
        if (given !== undefined && opts.all) throw new UsageError('--limit and --all: give one of them');
        const limit = opts.all ? undefined : given ?? (format === 'table' ? LIST_LIMIT : undefined);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          await refuseUnknownFilterNames(warehouse.db, filter, known);
          if (format === 'json') {
            // Every one by default: written a batch at a time as a cursor reads them, never held whole.
            const out = new OutputWriter();
            await readHeldRecords(warehouse, filter, async (batches) => {
              let written = 0;
              await out.write('[');
              for await (const batch of batches) {
                await out.write(batch.map((h, i) => `${written + i === 0 ? '' : ','}${JSON.stringify(h)}`).join(''));
                written += batch.length;
                if (out.closed) return;
              }
              await out.write(']\n');
            }, { limit });
            out.end();
            return EXIT.ok;
          }
          const held = await listHeldRecords(warehouse.db, filter, limit);
          if (held.length === 0) {
            process.stdout.write('No record is held back: nothing quarantined, nothing set aside.\n');
            return EXIT.ok;
          }
          // Counted in the database: the list shown may be the first page of many.
          const counts = await countHeldRecords(warehouse.db, filter);
          const count = (kind: HeldKind) => counts.filter((c) => c.kind === kind).reduce((n, c) => n + c.count, 0);
          const total = count('set aside') + count('quarantined');
          process.stdout.write(`${count('set aside')} set aside by the last transform, ${count('quarantined')} quarantined by the loader; left out of every metric.\n`);
          if (total > held.length) {
            process.stdout.write(formatTable(counts.map((c) => ({ stream: `${c.source}.${c.stream}`, kind: c.kind, records: c.count }))));
            process.stdout.write(`The first ${held.length} of ${total}, by stream, reason and id:\n`);
          }
          process.stdout.write(
            formatTable(
              held.map((h) => ({ id: h.id, kind: h.kind, stream: `${h.source}.${h.stream}`, reason: oneLine(h.reason, 100), since: h.since, location: h.location ?? '' })),
            ),
          );
          if (total > held.length) {
            process.stdout.write(`${total - held.length} more not shown: --limit N or --all for more, --stream, --kind or --reason WORDS to narrow.\n`);
          }
          process.stdout.write('verite quarantine show ID: the whole record; drop ID…: delete it; retry [ID…]: land or check again after a fix.\n');
          return EXIT.ok;
        });
      }),
    );

  quarantine
    .command('show')
    .description('show one held record: its reason, where it is, its text')
    .argument('<id>', 'source.stream:key (set aside) or q<n> (quarantined), from verite quarantine list')
    .option('--format <format>', 'table or json', 'table')
    .action(
      action(async (id: string, opts: { format: string }) => {
        const format = formatOf(opts.format);
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          const record = await showHeldRecord(warehouse.db, id);
          if (format === 'json') {
            process.stdout.write(`${JSON.stringify(record)}\n`);
            return EXIT.ok;
          }
          const lines: [string, string][] = [
            ['id', record.id],
            ['kind', record.kind === 'set aside' ? `set aside by ${record.models.join(', ')}` : 'quarantined by the loader'],
            ['stream', `${record.source}.${record.stream}`],
            ['reason', record.reason],
            ['location', record.location ?? ''],
            ['since', record.since.toISOString()],
            ['run', record.runId ?? ''],
          ];
          const width = Math.max(...lines.map(([k]) => k.length));
          process.stdout.write(`${lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n\n${record.raw ?? '(the raw record is no longer there)'}\n`);
          return EXIT.ok;
        });
      }),
    );

  withFilters(
    quarantine
      .command('drop')
      .description('delete held records: a set-aside one deletes its raw record, a quarantined one its quarantine row (logged in ops.quarantine_actions)')
      .argument('[ids...]', 'ids from verite quarantine list (or, instead of ids, filters: every held record they match)'),
  )
    .action(
      action(async (ids: string[], opts: FilterOptions) => {
        // An empty value is refused first: counted as a filter, `--reason ""` would drop every held record.
        const filter = filterOf(opts);
        const filtered = hasFilter(opts);
        if (ids.length && filtered) throw new UsageError('give the ids of the records to drop, or filters (--source, --stream, --kind, --reason) to drop every record they match, not both');
        if (!ids.length && !filtered) {
          throw new UsageError('name the records to drop (ids from verite quarantine list), or give filters (--source, --stream, --kind, --reason) to drop every record they match');
        }
        const ctx = await commandContext(program.opts<GlobalOptions>());
        return withWarehouse(ctx.log, async (warehouse) => {
          await refuseUnknownFilterNames(warehouse.db, filter, known);
          let done: ActionOutcomes;
          if (ids.length) {
            done = new ActionOutcomes();
            for (const outcome of await dropHeldRecords(warehouse.db, ids, currentActor())) done.add(outcome);
          } else {
            // By filter: deleted a batch at a time in the database, counted here.
            done = await dropMatchingRecords(warehouse.db, filter, currentActor());
          }
          if (done.total === 0) {
            process.stdout.write('No held record matches: nothing was dropped.\n');
            return EXIT.ok;
          }
          if (done.total <= LISTED_OUTCOMES) {
            process.stdout.write(formatTable(done.listed.map((o) => ({ id: o.id, kind: o.kind, outcome: o.outcome }))));
          } else {
            // Many (a whole file's rows): counted by what was done, each one logged in ops.quarantine_actions.
            process.stdout.write(`${done.total} held records dropped (each logged in ops.quarantine_actions):\n`);
            for (const [outcome, n] of done.counts) process.stdout.write(`  ${n} ${outcome}\n`);
          }
          if (done.setAside > 0) {
            process.stdout.write('The next transform (verite transform, or the next run) rebuilds without them; a source that sends one again lands it again.\n');
          }
          return EXIT.ok;
        });
      }),
    );

  withFilters(
    quarantine
      .command('retry')
      .description('after a fix: land quarantined records again, and rebuild to re-check set-aside ones')
      .argument('[ids...]', 'ids from verite quarantine list (default: every held record the filters match)'),
  )
    .option('--no-transform', 'only land quarantined records again; do not rebuild')
    .action(
      action(async (ids: string[], opts: FilterOptions & { transform: boolean }) => {
        const filter = filterOf(opts);
        // Ids and filters together: the filters were passed over without a word.
        if (ids.length && hasFilter(opts)) throw new UsageError('give the ids of the records to retry, or filters (--source, --stream, --kind, --reason) to retry every record they match, not both');
        const ctx = await commandContext(program.opts<GlobalOptions>());
        const { signal, dispose } = interruptSignal(ctx.log);
        try {
          return await withWarehouse(ctx.log, async (warehouse) => {
            await refuseUnknownFilterNames(warehouse.db, filter, known);
            const result = await retryHeldRecords({
              warehouse, config: ctx.config, log: ctx.log, actor: currentActor(), ids, filter, steps: opts.transform ? postLoadSteps() : [], signal, known,
            });
            const done = result.outcomes;
            if (done.total === 0) {
              process.stdout.write('No record is held back: nothing to retry.\n');
              return EXIT.ok;
            }
            process.stdout.write(formatTable(done.listed.map((o) => ({ id: o.id, kind: o.kind, outcome: oneLine(o.outcome, 120) }))));
            if (done.total > done.listed.length) {
              // A whole file's rows: the rest counted by what came of them (each one logged in ops.quarantine_actions).
              process.stdout.write(`… and ${done.total - done.listed.length} more (each in ops.quarantine_actions): ${[...done.more].map(([what, n]) => `${n} ${what}`).join(', ')}\n`);
            }
            if (result.run) {
              for (const step of result.run.steps) process.stdout.write(`${step.name}: ${step.status}, ${redactString(step.summary)}\n`);
              if (result.run.status === 'failed' || result.run.status === 'interrupted') {
                printError(`verite: the rebuild ${result.run.status}, the previous build is kept: ${result.run.error}`);
                return EXIT.failed;
              }
            }
            const held = done.stillHeld;
            if (held) process.stdout.write(`${held} still held back: verite quarantine show ID says why.\n`);
            return EXIT.ok;
          });
        } finally {
          dispose();
        }
      }),
    );
}
