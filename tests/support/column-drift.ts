import type pg from 'pg';
import { describeColumn, type TableColumns } from '../../warehouse/tables/columns.ts';

/** One column of a table as PostgreSQL's catalog describes it. */
export interface BuiltColumn {
  table: string;
  column: string;
  /** `format_type`'s name, `timestamp with time zone` shortened to `timestamptz`, a numeric's precision dropped. */
  type: string;
  notNull: boolean;
}

/** The columns of every table of `schemas`, as the warehouse holds them now. */
export async function readBuiltColumns(pool: pg.Pool, schemas: string[]): Promise<BuiltColumn[]> {
  const { rows } = await pool.query<{ table: string; column: string; type: string; not_null: boolean }>(
    `select n.nspname || '.' || c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1) and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
      order by 1, a.attnum`,
    [schemas],
  );
  return rows.map((r) => ({
    table: r.table,
    column: r.column,
    type: r.type === 'timestamp with time zone' ? 'timestamptz' : r.type.replace(/^numeric\(.*\)$/, 'numeric'),
    notNull: r.not_null,
  }));
}

/**
 * Every difference between the declared column lists and the built tables: a table or column
 * on one side only, a kind that differs. Nullability is compared only for tables that record it
 * (those a migration creates): `create table … as select` marks no column not null, so for
 * `modelTables` the catalog says nothing about it.
 */
export function columnDrift(declared: Readonly<Record<string, TableColumns>>, built: readonly BuiltColumn[], modelTables: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const builtTables = new Map<string, BuiltColumn[]>();
  for (const c of built) builtTables.set(c.table, [...(builtTables.get(c.table) ?? []), c]);
  for (const table of Object.keys(declared)) {
    if (!builtTables.has(table)) problems.push(`${table}: the types declare it, but the warehouse has no such table`);
  }
  for (const [table, columns] of builtTables) {
    const spec = declared[table];
    if (!spec) {
      problems.push(`${table}: in the warehouse, but the types declare no such table`);
      continue;
    }
    const names = new Set(columns.map((c) => c.column));
    for (const column of Object.keys(spec)) {
      if (!names.has(column)) problems.push(`${table}.${column}: the types declare it, but the table has no such column`);
    }
    for (const c of columns) {
      const s = spec[c.column];
      if (!s) {
        problems.push(`${table}.${c.column}: the table has it (${c.type}), but the types declare no such column`);
        continue;
      }
      const { kind, nullable } = describeColumn(s);
      if (kind !== c.type) problems.push(`${table}.${c.column}: the table holds ${c.type}, the types say ${kind}`);
      if (!modelTables.has(table) && nullable === c.notNull) {
        problems.push(`${table}.${c.column}: the table says ${c.notNull ? 'not null' : 'nullable'}, the types say ${nullable ? 'nullable' : 'not null'}`);
      }
    }
  }
  return problems;
}
