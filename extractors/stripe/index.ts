import type { StripeConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';
import { CHARGES, REFUNDS, type StripeObjectKind } from './object-kinds.ts';

/** The `stripe` client (some 200 modules) is loaded only by a run that reads Stripe. */
async function* readObjects(ctx: ReadContext<StripeConfig>, kind: StripeObjectKind): AsyncGenerator<Page> {
  const { readStripeStream } = await import('./read-stream.ts');
  yield* readStripeStream(ctx, kind);
}

async function* readBalanceTransactionsLazily(ctx: ReadContext<StripeConfig>): AsyncGenerator<Page> {
  const { readBalanceTransactions } = await import('./balance-transactions.ts');
  yield* readBalanceTransactions(ctx);
}

/**
 * The Stripe source: `charges`, `refunds` and `balance_transactions`, read with the official `stripe` client. A first
 * run lists by creation time; later runs replay `/v1/events` and re-fetch what changed (balance
 * transactions are listed again by creation time, with a lookback). See
 * docs/sources/stripe.md.
 */
export const stripeChargesStream: Stream<StripeConfig> = { ...catalog.stripe.charges, read: (ctx) => readObjects(ctx, CHARGES) };

export const stripeRefundsStream: Stream<StripeConfig> = { ...catalog.stripe.refunds, read: (ctx) => readObjects(ctx, REFUNDS) };

/** Balance transactions (fees, net amounts, payouts), by creation time with a lookback. */
export const stripeBalanceTransactionsStream: Stream<StripeConfig> = { ...catalog.stripe.balance_transactions, read: readBalanceTransactionsLazily };

export const stripeSource: Source<StripeConfig> = { name: 'stripe', streams: [stripeChargesStream, stripeRefundsStream, stripeBalanceTransactionsStream] };

