import { sql } from 'kysely';
import { payments } from '../measure-sources.ts';
import { KPI_PERIOD_VIEWS, metric } from '../definition.ts';

/** Stripe charges: how many payment attempts go through. */

export const paymentAttempts = metric('payments', {
  name: 'payment_attempts',
  label: 'Payment attempts',
  description: 'Stripe charges created on the date (local date of `created`) whose status is `succeeded` or `failed`; pending charges are not attempts yet.',
  formula: 'Stripe charges created that date whose status is `succeeded` or `failed`',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['stripe.charges'],
  measure: payments.count({ filter: sql<boolean>`status in ('succeeded', 'failed')` }),
});

export const paymentsSucceeded = metric('payments', {
  name: 'payments_succeeded',
  label: 'Successful payments',
  description: 'Of the payment attempts, the charges whose status is `succeeded`.',
  formula: 'of those, `succeeded`',
  unit: 'count',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['stripe.charges'],
  measure: payments.count({ filter: sql<boolean>`status = 'succeeded'` }),
});

export const paymentAcceptanceRate = metric('payments', {
  name: 'payment_acceptance_rate',
  label: 'Payment acceptance rate',
  description: 'Share of payment attempts that succeeded. Over a date range: SUM(payments_succeeded) / SUM(payment_attempts).',
  formula: '`payments_succeeded / payment_attempts`',
  unit: 'ratio',
  display: 'percent',
  views: [...KPI_PERIOD_VIEWS],
  sources: ['stripe.charges'],
  derivation: { kind: 'ratio', numerator: 'payments_succeeded', denominator: 'payment_attempts' },
});

/** Every payment metric, in the order the views publish them. */
export const paymentMetrics = [paymentAttempts, paymentsSucceeded, paymentAcceptanceRate];
