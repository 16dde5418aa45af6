import type { StripeConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Source, Stream } from '../types.ts';
import { readBalanceTransactions } from './balance-transactions.ts';
import { CHARGES, REFUNDS } from './object-kinds.ts';
import { readStripeStream } from './read-stream.ts';

/**
 * The Stripe source: `charges`, `refunds` and `balance_transactions`, read with the official `stripe` client. A first
 * run lists by creation time; later runs replay `/v1/events` and re-fetch what changed (balance
 * transactions are listed again by creation time, with a lookback). See
 * docs/sources/stripe.md.
 */
export const stripeChargesStream: Stream<StripeConfig> = { ...catalog.stripe.charges, read: (ctx) => readStripeStream(ctx, CHARGES) };

export const stripeRefundsStream: Stream<StripeConfig> = { ...catalog.stripe.refunds, read: (ctx) => readStripeStream(ctx, REFUNDS) };

/** Balance transactions (fees, net amounts, payouts), by creation time with a lookback. */
export const stripeBalanceTransactionsStream: Stream<StripeConfig> = { ...catalog.stripe.balance_transactions, read: readBalanceTransactions };

export const stripeSource: Source<StripeConfig> = { name: 'stripe', streams: [stripeChargesStream, stripeRefundsStream, stripeBalanceTransactionsStream] };

