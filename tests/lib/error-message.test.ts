import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError, errorMessage } from '../../lib/errors.ts';
import type { Warehouse } from '../../warehouse/connection.ts';
import { createTestDatabase } from '../support/database.ts';

/**
 * PostgreSQL says what to do in its hint (`max_locks_per_transaction`, free disk space, a cast),
 * and the run's error, `ops.runs.error` and the alert kept only the message.
 */
let wh: Warehouse;
beforeAll(async () => {
  wh = await createTestDatabase('error_message');
});
afterAll(async () => wh?.close());

async function failing(statement: string): Promise<unknown> {
  try {
    await wh.pool.query(statement);
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${statement} to fail`);
}

describe('errorMessage', () => {
  it("keeps the server's hint, on the error and under a wrapping error", async () => {
    const error = await failing('select lower(1)');
    expect(errorMessage(error)).toBe(
      'function lower(integer) does not exist (hint: No function matches the given name and argument types. You might need to add explicit type casts.)',
    );
    const wrapped = new WarehouseError('model core.orders failed', 'select lower(1)', [], { cause: error });
    expect(errorMessage(wrapped)).toBe(
      'model core.orders failed (caused by: function lower(integer) does not exist (hint: No function matches the given name and argument types. You might need to add explicit type casts.))',
    );
  });

  it("leaves out the detail, which may quote a row's values", async () => {
    await wh.pool.query('create table customers_t (email text primary key)');
    await wh.pool.query(`insert into customers_t values ('ada@example.com')`);
    const error = await failing(`insert into customers_t values ('ada@example.com')`);
    expect((error as { detail?: string }).detail).toContain('ada@example.com');
    expect(errorMessage(error)).toBe('duplicate key value violates unique constraint "customers_t_pkey"');
  });

  it('says nothing more of an error without a hint', () => {
    expect(errorMessage(new Error('plain'))).toBe('plain');
    expect(errorMessage('text')).toBe('text');
  });
});
