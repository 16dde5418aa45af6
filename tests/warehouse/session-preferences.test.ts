import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, PREFERRED_SESSION_SETTINGS, sessionSettingsQuery, type Warehouse } from '../../warehouse/connection.ts';
import { landRecords } from '../support/land.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * A setting verite prefers (lz4 for the values it stores) is the administrator's to refuse: a
 * session takes it only when the server accepts the value and the setting is still at its
 * built-in default. `bytea_output` stands in for a preference the embedded server accepts
 * (`hex` by default, `escape` listed); `default_toast_compression` is the real one.
 */
let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('session_preferences');
});
afterAll(async () => wh?.close());

/** A new session on the test database: the settings `query` sets, then what `show` reads for each name. */
async function sessionAfter(query: { text: string; values: string[] }, names: string[]): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: wh.url });
  await client.connect();
  try {
    await client.query(query.text, query.values);
    const shown: Record<string, string> = {};
    for (const name of names) shown[name] = (await client.query(`select current_setting($1) as v`, [name])).rows[0].v;
    return shown;
  } finally {
    await client.end();
  }
}

describe('preferred session settings', () => {
  it('are set when the server accepts the value and the setting is at its built-in default, beside the required ones', async () => {
    const shown = await sessionAfter(sessionSettingsQuery({ extra_float_digits: '1' }, { bytea_output: 'escape' }), ['bytea_output', 'extra_float_digits']);
    expect(shown).toEqual({ bytea_output: 'escape', extra_float_digits: '1' });
  });

  it('leave a value the server does not list, or a setting that lists none, as it is, and the required settings are still set', async () => {
    const shown = await sessionAfter(
      sessionSettingsQuery({ extra_float_digits: '1' }, { bytea_output: 'base64', work_mem: '64MB' }),
      ['bytea_output', 'work_mem', 'extra_float_digits'],
    );
    // PostgreSQL's built-in defaults: hex, 4MB.
    expect(shown).toEqual({ bytea_output: 'hex', work_mem: '4MB', extra_float_digits: '1' });
  });

  it("leave a setting the database's administrator chose alone (ALTER DATABASE … SET)", async () => {
    await wh.pool.query(`alter database "${wh.describe}" set bytea_output = 'hex'`);
    try {
      const shown = await sessionAfter(sessionSettingsQuery({ extra_float_digits: '1' }, { bytea_output: 'escape' }), ['bytea_output', 'extra_float_digits']);
      expect(shown).toEqual({ bytea_output: 'hex', extra_float_digits: '1' });
    } finally {
      await wh.pool.query(`alter database "${wh.describe}" reset bytea_output`);
    }
  });
});

describe('lz4 for what verite stores', () => {
  it('is preferred for the values verite compresses', () => {
    expect(PREFERRED_SESSION_SETTINGS).toEqual({ default_toast_compression: 'lz4' });
  });

  /** What the server offers, read apart from verite's sessions. */
  async function serverOffers(): Promise<{ lz4: boolean; builtIn: string }> {
    const row = (await wh.pool.query(`select 'lz4' = any(enumvals) as lz4, boot_val from pg_settings where name = 'default_toast_compression'`)).rows[0];
    return { lz4: row.lz4, builtIn: row.boot_val };
  }

  it("is what verite's sessions compress with where the server was built with lz4, and the built-in pglz elsewhere (the embedded server's)", async () => {
    const offers = await serverOffers();
    const verite = connect(wh.url, 1);
    try {
      const shown = (await verite.pool.query(`select current_setting('default_toast_compression') as v`)).rows[0].v;
      expect(shown).toBe(offers.lz4 ? 'lz4' : 'pglz');
      expect(offers.builtIn).toBe('pglz');
      // A record long enough to be compressed, landed through verite's pool, is stored so and reads back whole.
      const note = 'a long note that repeats itself. '.repeat(400);
      await landRecords(verite.pool, 'shopify', 'orders', [{ id: 7, name: '#1007', created_at: '2024-03-01T10:00:00Z', updated_at: '2024-03-01T10:00:00Z', total_price: '10.00', currency: 'USD', note }]);
      const stored = (await verite.pool.query(`select pg_column_compression(_record) as method, _record->>'note' as note from raw.shopify__orders where _key = '7'`)).rows[0];
      expect(stored).toEqual({ method: offers.lz4 ? 'lz4' : 'pglz', note });
    } finally {
      await verite.pool.end();
    }
  });

  it("is left alone where the database's administrator chose a method", async () => {
    await wh.pool.query(`alter database "${wh.describe}" set default_toast_compression = 'pglz'`);
    const verite = connect(wh.url, 1);
    try {
      expect((await verite.pool.query(`select current_setting('default_toast_compression') as v`)).rows[0].v).toBe('pglz');
    } finally {
      await verite.pool.end();
      await wh.pool.query(`alter database "${wh.describe}" reset default_toast_compression`);
    }
  });
});

describe('JIT compilation', () => {
  /** Whether a statement's plan, run on `client`, says it was compiled (EXPLAIN ANALYZE's "JIT" section). */
  async function compiled(query: (text: string) => Promise<pg.QueryResult>): Promise<boolean> {
    const plan = (await query(`explain (analyze, format json)
      select count(*) from generate_series(1, 10000) g, jsonb_array_elements(jsonb_build_array(g, g + 1)) e`)).rows[0]['QUERY PLAN'][0];
    return 'JIT' in plan;
  }

  it("is off in verite's sessions, whatever the database says, so a statement over a few rows is never compiled first", async () => {
    // The database compiles any statement costing more than 10 (the default is 100,000).
    await wh.pool.query(`alter database "${wh.describe}" set jit = on`);
    await wh.pool.query(`alter database "${wh.describe}" set jit_above_cost = 10`);
    const verite = connect(wh.url, 1);
    const plain = new pg.Client({ connectionString: wh.url });
    await plain.connect();
    try {
      const available = (await plain.query(`select pg_jit_available() as a`)).rows[0].a as boolean;
      expect((await plain.query(`select current_setting('jit') as v`)).rows[0].v).toBe('on');
      expect((await verite.pool.query(`select current_setting('jit') as v`)).rows[0].v).toBe('off');
      // Where the server was built with LLVM, the same statement is compiled in a session of the database's own settings, and not in verite's.
      expect(await compiled((text) => plain.query(text))).toBe(available);
      expect(await compiled((text) => verite.pool.query(text))).toBe(false);
    } finally {
      await plain.end();
      await verite.pool.end();
      await wh.pool.query(`alter database "${wh.describe}" reset jit`);
      await wh.pool.query(`alter database "${wh.describe}" reset jit_above_cost`);
    }
  });
});
