/**
 * Stripe balance transactions of the demo shop: one per succeeded charge (Stripe's processing
 * fee taken from it), one per succeeded refund (the fee is not given back), and a payout to the
 * bank each Monday per currency, of the net of the transactions that became available in the
 * week before. The account keeps a balance per currency (no conversion). Fees follow Stripe's
 * published standard card pricing: 2.9 % + 30¢ in the US, 1.5 % + €0.25 or + 20p for European
 * cards, so about 1.7 to 3.5 % of a charge.
 */
import type { DemoShop } from './shop.ts';
import { invoiceCharges, stripeRecords } from './stripe.ts';
import { DAY_MS, isoDay, weekday } from './time.ts';

type Json = Record<string, unknown>;

/** Days from a transaction's creation to its funds becoming available (Stripe's standard payout schedule in the US). */
const AVAILABLE_AFTER_DAYS = 2;
/** The fee of a charge: a share of its amount plus a fixed part in minor units, by currency. */
const PRICING: Readonly<Record<string, { share: number; fixed: number }>> = {
  usd: { share: 0.029, fixed: 30 },
  eur: { share: 0.015, fixed: 25 },
  gbp: { share: 0.015, fixed: 20 },
};

export function stripeFee(amount: number, currency: string): number {
  const price = PRICING[currency] ?? PRICING.usd!;
  return Math.round(amount * price.share) + price.fixed;
}

const availableOn = (created: number): number => (Math.floor(created / 86_400) + AVAILABLE_AFTER_DAYS) * 86_400;

function transaction(fields: { id: string; type: string; amount: number; fee: number; currency: string; created: number; source: string; description: string | null; cutoffMs: number }): Json {
  const available = fields.type === 'payout' ? fields.created : availableOn(fields.created);
  return {
    id: fields.id,
    object: 'balance_transaction',
    amount: fields.amount,
    available_on: available,
    balance_type: 'payments',
    created: fields.created,
    currency: fields.currency,
    description: fields.description,
    exchange_rate: null,
    fee: fields.fee,
    fee_details: fields.fee ? [{ amount: fields.fee, application: null, currency: fields.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
    net: fields.amount - fields.fee,
    reporting_category: fields.type,
    source: fields.source,
    status: available * 1000 <= fields.cutoffMs ? 'available' : 'pending',
    type: fields.type,
  };
}

/** The balance transactions of the charges and refunds of `day`'s orders and invoices (refunds may come days later). */
export function chargeTransactions(shop: DemoShop, day: number, cutoffMs: number): Json[] {
  const out: Json[] = [];
  const records = shop.ordersOn(day).map((o) => stripeRecords(shop, o, cutoffMs));
  const charges = [...records.flatMap((r) => r.charges), ...invoiceCharges(shop, day, cutoffMs)];
  const refunds = records.flatMap((r) => r.refunds);
  for (const c of charges) {
    if (c.status !== 'succeeded' || !c.balance_transaction) continue;
    const amount = c.amount as number;
    const currency = c.currency as string;
    out.push(transaction({ id: c.balance_transaction as string, type: 'charge', amount, fee: stripeFee(amount, currency), currency, created: c.created as number, source: c.id as string, description: (c.description as string | null) ?? null, cutoffMs }));
  }
  for (const r of refunds) {
    if (r.status !== 'succeeded' || !r.balance_transaction) continue;
    out.push(transaction({ id: r.balance_transaction as string, type: 'refund', amount: -(r.amount as number), fee: 0, currency: r.currency as string, created: r.created as number, source: r.id as string, description: 'REFUND FOR CHARGE', cutoffMs }));
  }
  return out;
}

/** What a payout needs of a day's transactions: their net, by the day it becomes available and currency. */
export interface AvailableNet {
  /** Unix seconds of the day the funds become available. */
  available: number;
  currency: string;
  net: number;
}

/**
 * The net of `transactions` (as {@link chargeTransactions} gives them) summed by availability
 * day and currency: a few dozen numbers a day, so the payouts' look-back keeps these rather
 * than the transactions, whatever the shop's size.
 */
export function availableNets(transactions: readonly Json[]): AvailableNet[] {
  const sums = new Map<string, AvailableNet>();
  for (const t of transactions) {
    if (t.type === 'payout') continue;
    const available = t.available_on as number;
    const currency = t.currency as string;
    const key = `${available}|${currency}`;
    const sum = sums.get(key);
    if (sum) sum.net += t.net as number;
    else sums.set(key, { available, currency, net: t.net as number });
  }
  return [...sums.values()];
}

/**
 * The Monday payouts of `day` (none on other days): per currency, minus the net of the
 * transactions of the period (from `firstDay`) that became available in the seven days before.
 * `netsOf(d)` gives the {@link availableNets} of the transactions of day `d`'s orders.
 */
export function payoutTransactions(day: number, firstDay: number, cutoffMs: number, netsOf: (d: number) => readonly AvailableNet[]): Json[] {
  if (weekday(day) !== 1) return [];
  const created = Math.floor((day * DAY_MS + 9 * 3_600_000) / 1000);
  if (created * 1000 >= cutoffMs) return [];
  const from = (day - 7) * 86_400;
  const to = day * 86_400;
  const net = new Map<string, number>();
  // A refund can come up to three weeks after its order: look that far back for the week's transactions.
  for (let d = Math.max(firstDay, day - 40); d < day; d++) {
    for (const t of netsOf(d)) {
      if (t.available < from || t.available >= to) continue;
      net.set(t.currency, (net.get(t.currency) ?? 0) + t.net);
    }
  }
  const out: Json[] = [];
  for (const [currency, amount] of [...net].sort(([a], [b]) => a.localeCompare(b))) {
    if (amount <= 0) continue;
    const stamp = isoDay(day).replace(/-/g, '');
    out.push(transaction({ id: `txn_1PO${stamp}${currency.toUpperCase()}`, type: 'payout', amount: -amount, fee: 0, currency, created, source: `po_1${stamp}${currency.toUpperCase()}`, description: 'STRIPE PAYOUT', cutoffMs }));
  }
  return out;
}
