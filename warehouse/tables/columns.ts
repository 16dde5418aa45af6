import type { ColumnType } from 'kysely';

/**
 * The column types of the tables the transforms build, as PostgreSQL names them. Each is read
 * back as `connection.ts` parses it: `date` stays 'YYYY-MM-DD' text, `bigint` becomes a
 * number, `numeric` keeps its full precision as a string, `timestamptz` becomes a Date.
 */
export type ColumnKind = 'text' | 'text[]' | 'boolean' | 'integer' | 'bigint' | 'numeric' | 'date' | 'timestamptz';

/**
 * One column: its kind, with `?` when it may hold NULL (`'numeric?'`), or a text column that
 * holds one of a few values ({@link oneOf}).
 */
export type ColumnSpec = ColumnKind | `${ColumnKind}?` | TextOneOf;

export interface TextOneOf<V extends string = string> {
  readonly kind: 'text';
  readonly values: readonly V[];
}

/** A table's columns by name, in the order the model selects them. */
export type TableColumns = Readonly<Record<string, ColumnSpec>>;

/** A text column holding one of `values` (typed as their union). */
export function oneOf<const V extends string>(...values: V[]): TextOneOf<V> {
  return { kind: 'text', values };
}

/** What a row holds in each kind: [select, insert, update] (Kysely's ColumnType). */
interface KindTypes {
  text: [string, string, string];
  'text[]': [string[], string[], string[]];
  boolean: [boolean, boolean, boolean];
  integer: [number, number, number];
  bigint: [number, number | string, number | string];
  numeric: [string, string | number, string | number];
  date: [string, string, string];
  timestamptz: [Date, Date | string, Date | string];
}

/** Kinds read, written and updated as the same type are plain types; the others ColumnTypes. */
type Plain = 'text' | 'text[]' | 'boolean' | 'integer';

type Typed<K extends ColumnKind, N> = K extends Plain
  ? KindTypes[K][0] | N
  : ColumnType<KindTypes[K][0] | N, KindTypes[K][1] | N, KindTypes[K][2] | N>;

/** The Kysely type of one column. */
export type ColumnOf<S> = S extends TextOneOf<infer V>
  ? V
  : S extends `${infer K extends ColumnKind}?`
    ? Typed<K, null>
    : S extends ColumnKind
      ? Typed<S, never>
      : never;

/** The Kysely row type of a table's columns (their doc comments carry over). */
export type RowOf<C extends TableColumns> = { -readonly [K in keyof C]: ColumnOf<C[K]> };

/** The Kysely tables of a schema's column lists, by `schema.table` name. */
export type TablesOf<T extends Readonly<Record<string, TableColumns>>> = { -readonly [N in keyof T]: RowOf<T[N]> };

/** A column spec read at run time: its kind and whether it may hold NULL. */
export function describeColumn(spec: ColumnSpec): { kind: ColumnKind; nullable: boolean } {
  if (typeof spec !== 'string') return { kind: spec.kind, nullable: false };
  return spec.endsWith('?') ? { kind: spec.slice(0, -1) as ColumnKind, nullable: true } : { kind: spec as ColumnKind, nullable: false };
}
