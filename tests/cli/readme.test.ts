import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.ts';

/**
 * Audit of issue 5: the README's command table lacked commands and options the command line
 * has. Every registered command (subcommands as `metrics list`) must have a row of its own,
 * naming every long option it takes; the global options must be named above the table.
 */
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = readme.slice(readme.indexOf('## Command line'), readme.indexOf('\n## ', readme.indexOf('## Command line') + 1));
/** The first cell of each row of the command table, e.g. "verite run [--sources a,b] …". */
const rows = section
  .split('\n')
  .filter((l) => l.startsWith('| `verite '))
  .map((l) => /^\| `([^`]+)`/.exec(l)![1]!);

function commands(command: Command, prefix: string[] = []): { name: string; options: string[] }[] {
  return command.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => {
      const path = [...prefix, c.name()];
      const own = c.commands.length ? [] : [{ name: path.join(' '), options: c.options.map((o) => o.long!).filter((o) => o !== '--help') }];
      return [...own, ...commands(c, path)];
    });
}

describe('README command table', () => {
  const program = buildProgram();
  const registered = commands(program);

  it('has a row for every registered command, naming each of its options', () => {
    expect(registered.map((c) => c.name)).toEqual(expect.arrayContaining(['run', 'backfill', 'schedule', 'metrics list', 'metrics describe', 'metrics refresh', 'bi grant', 'query', 'status']));
    for (const command of registered) {
      const row = rows.find((r) => r === `verite ${command.name}` || r.startsWith(`verite ${command.name} `));
      expect(row, `README has no row for verite ${command.name}`).toBeDefined();
      for (const option of command.options) expect(row, `verite ${command.name}: ${option}`).toContain(option);
    }
    // No row for a command that does not exist.
    for (const row of rows) expect(registered.some((c) => row === `verite ${c.name}` || row.startsWith(`verite ${c.name} `)), row).toBe(true);
  });

  it('names the global options', () => {
    for (const option of program.options.map((o) => o.long!).filter((o) => o !== '--help')) expect(section).toContain(option);
  });

  it('keeps the two-line quick start', () => {
    expect(readme).toContain('## Quick start\n\n```sh\nnpm ci && npm run demo\nnpm ci && npm test\n```\n');
  });

  it('links to the operations, metrics, BI, streams, scale and source pages, which exist', () => {
    const links = [...readme.matchAll(/\]\((docs\/[^)]+\.md)\)/g)].map((m) => m[1]!);
    for (const page of ['docs/operations.md', 'docs/metrics.md', 'docs/bi.md', 'docs/streams.md', 'docs/scale.md', 'docs/sources/shopify.md', 'docs/sources/stripe.md', 'docs/sources/shipments.md', 'docs/sources/ga4.md', 'docs/sources/google-ads.md', 'docs/sources/meta-ads.md', 'docs/sources/fx.md']) {
      expect(links).toContain(page);
    }
    for (const link of links) expect(() => readFileSync(new URL(`../../${link}`, import.meta.url))).not.toThrow();
  });
});
