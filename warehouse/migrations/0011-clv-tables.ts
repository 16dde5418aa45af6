import { sql, type Kysely } from 'kysely';

/**
 * The tables of the predicted-CLV models that the runs do not rebuild: `metrics.clv_model`
 * (one row per fit, kept: the history of the estimates and their hold-out checks) and
 * `core.customer_predictions` (one row per customer, replaced by each fit that publishes; not
 * readable by the BI role, whose grants cover schema `metrics` only). `metrics.clv_summary`
 * is built by the metrics refresh like the other metric tables.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('metrics.clv_model')
    // The calibration end again, as the \`date\` every metric table has (docs/metrics.md, "Published views").
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('fitted_at', 'timestamptz', (c) => c.primaryKey())
    .addColumn('calibration_end', 'date', (c) => c.notNull())
    .addColumn('customers', 'bigint', (c) => c.notNull())
    .addColumn('repeat_customers', 'bigint', (c) => c.notNull())
    .addColumn('r', 'numeric', (c) => c.notNull())
    .addColumn('alpha', 'numeric', (c) => c.notNull())
    .addColumn('a', 'numeric', (c) => c.notNull())
    .addColumn('b', 'numeric', (c) => c.notNull())
    .addColumn('bgnbd_log_likelihood', 'numeric', (c) => c.notNull())
    .addColumn('p', 'numeric', (c) => c.notNull())
    .addColumn('q', 'numeric', (c) => c.notNull())
    .addColumn('gamma', 'numeric', (c) => c.notNull())
    .addColumn('gamma_gamma_log_likelihood', 'numeric', (c) => c.notNull())
    .addColumn('holdout_end', 'date')
    .addColumn('holdout_actual_repeat_transactions', 'bigint')
    .addColumn('holdout_predicted_repeat_transactions', 'numeric')
    .addColumn('holdout_correlation', 'numeric')
    .addColumn('orders_checksum', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('clv_model_date').on('metrics.clv_model').columns(['date']).execute();
  await db.schema
    .createTable('core.customer_predictions')
    .addColumn('customer_key', 'text', (c) => c.primaryKey())
    .addColumn('calibration_end', 'date', (c) => c.notNull())
    .addColumn('fitted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('x', 'integer', (c) => c.notNull())
    .addColumn('t_x', 'numeric', (c) => c.notNull())
    // docs/metrics.md's `T`; PostgreSQL folds unquoted names to lower case, so `select T` reads it.
    .addColumn('t', 'numeric', (c) => c.notNull())
    .addColumn('m', 'numeric')
    .addColumn('p_alive', 'numeric', (c) => c.notNull())
    .addColumn('expected_purchases_90d', 'numeric', (c) => c.notNull())
    .addColumn('expected_purchases_365d', 'numeric', (c) => c.notNull())
    .addColumn('expected_spend', 'numeric')
    .addColumn('predicted_clv_12m', 'numeric')
    .execute();
  await sql`comment on table core.customer_predictions is ${sql.lit('One row per customer: their purchase history as of the calibration end of the last fit that published, and what the BG/NBD and Gamma-Gamma models predict (docs/clv.md).')}`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('core.customer_predictions').ifExists().execute();
  await db.schema.dropTable('metrics.clv_model').ifExists().execute();
}
