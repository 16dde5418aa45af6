/**
 * Stripe Charge and Refund objects for the demo shop's Stripe-paid orders (amounts in minor
 * units, lower-case currencies, Unix `created`), plus the odd manual invoice paid through
 * Stripe that no order stands behind.
 */
import { Rng, tagOf, Weighted } from '../../lib/random.ts';
import type { CardPlan, DemoShop, OrderPlan, RefundPlan } from './shop.ts';
import { MARKETS } from './shop-data.ts';
import { DAY_MS, isoDay, unixSeconds } from './time.ts';

type Json = Record<string, unknown>;

const TAG_STRIPE = tagOf('stripe');
const TAG_INVOICE = tagOf('stripe-invoice');

interface Decline {
  failureCode: string;
  reason: string;
  message: string;
  sellerMessage: string;
}

const DECLINES = new Weighted<Decline>([
  [{ failureCode: 'card_declined', reason: 'generic_decline', message: 'Your card was declined.', sellerMessage: 'The bank did not return any further details with this decline.' }, 50],
  [{ failureCode: 'insufficient_funds', reason: 'insufficient_funds', message: 'Your card has insufficient funds.', sellerMessage: 'The bank returned the decline code `insufficient_funds`.' }, 25],
  [{ failureCode: 'expired_card', reason: 'expired_card', message: 'Your card has expired.', sellerMessage: 'The bank returned the decline code `expired_card`.' }, 10],
  [{ failureCode: 'incorrect_cvc', reason: 'incorrect_cvc', message: "Your card's security code is incorrect.", sellerMessage: 'The bank returned the decline code `incorrect_cvc`.' }, 10],
  [{ failureCode: 'processing_error', reason: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.', sellerMessage: 'The bank returned the decline code `processing_error`.' }, 5],
]);

interface ChargeInput {
  id: string;
  createdMs: number;
  amount: number;
  currency: string;
  customer: string | null;
  paymentIntent: string;
  paymentMethod: string;
  metadata: Record<string, string>;
  card: CardPlan;
  email: string | null;
  name: string;
  zip: string;
  description: string | null;
  decline: Decline | null;
  balanceTransaction: string;
  riskScore: number;
  refundedMinor: number;
}

function chargeJson(c: ChargeInput): Json {
  const ok = c.decline === null;
  return {
    id: c.id,
    object: 'charge',
    amount: c.amount,
    amount_captured: ok ? c.amount : 0,
    amount_refunded: c.refundedMinor,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: ok ? c.balanceTransaction : null,
    billing_details: {
      address: { city: null, country: c.card.country, line1: null, line2: null, postal_code: c.zip, state: null },
      email: c.email,
      name: c.name,
      phone: null,
    },
    calculated_statement_descriptor: 'NORTHWIND OUTFITTERS',
    captured: ok,
    created: unixSeconds(c.createdMs),
    currency: c.currency,
    customer: c.customer,
    description: c.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: c.decline?.failureCode ?? null,
    failure_message: c.decline?.message ?? null,
    fraud_details: {},
    livemode: true,
    metadata: c.metadata,
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: ok ? 'approved_by_network' : 'declined_by_network',
      reason: c.decline?.reason ?? null,
      risk_level: c.riskScore >= 65 ? 'elevated' : 'normal',
      risk_score: c.riskScore,
      seller_message: ok ? 'Payment complete.' : c.decline!.sellerMessage,
      type: ok ? 'authorized' : 'issuer_declined',
    },
    paid: ok,
    payment_intent: c.paymentIntent,
    payment_method: c.paymentMethod,
    payment_method_details: {
      card: {
        brand: c.card.brand,
        checks: { address_line1_check: null, address_postal_code_check: 'pass', cvc_check: c.decline?.reason === 'incorrect_cvc' ? 'fail' : 'pass' },
        country: c.card.country,
        exp_month: c.card.expMonth,
        exp_year: c.card.expYear,
        funding: c.card.funding,
        last4: c.card.last4,
        network: c.card.brand,
      },
      type: 'card',
    },
    receipt_email: c.email,
    receipt_number: null,
    receipt_url: null,
    refunded: ok && c.refundedMinor >= c.amount,
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: ok ? 'succeeded' : 'failed',
    transfer_data: null,
    transfer_group: null,
  };
}

function refundJson(
  id: string,
  status: 'succeeded' | 'failed',
  c: { refund: RefundPlan; orderId: number; charge: string; paymentIntent: string; currency: string; balanceTransaction: string },
): Json {
  const json: Json = {
    id,
    object: 'refund',
    amount: c.refund.amountCents,
    balance_transaction: status === 'succeeded' ? c.balanceTransaction : null,
    charge: c.charge,
    created: unixSeconds(c.refund.atMs),
    currency: c.currency,
    destination_details: { card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' },
    metadata: { order_id: String(c.orderId), shopify_refund_id: String(c.refund.id) },
    payment_intent: c.paymentIntent,
    reason: c.refund.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status,
    transfer_reversal: null,
  };
  if (status === 'failed') json.failure_reason = 'expired_or_canceled_card';
  return json;
}

export interface StripeRecords {
  charges: Json[];
  refunds: Json[];
}

/**
 * The charges and refunds of one order as of the cut-off. One succeeded charge 0–120 s after
 * the order, for its total in minor units; ~8% of orders first have 1–2 declined attempts on
 * the same payment intent. `metadata.order_id` carries the order id or its name; when a
 * success follows a decline, the success sometimes carries no metadata of its own and is
 * matched through the intent. Every Shopify refund transaction has its Stripe refund (a
 * failed transaction, a failed refund).
 */
export function stripeRecords(shop: DemoShop, order: OrderPlan, cutoffMs: number): StripeRecords {
  if (order.gateway !== 'stripe') return { charges: [], refunds: [] };
  const rng = Rng.for(shop.seed, TAG_STRIPE, order.day, order.seq);
  const failures = rng.chance(0.08) ? (rng.chance(0.75) ? 1 : 2) : 0;
  const paymentIntent = `pi_3${rng.base62(23)}`;
  const refStyle = rng.next();
  const orderRef = refStyle < 0.6 ? String(order.id) : refStyle < 0.95 ? `#${order.number}` : String(order.number);
  const successWithoutMetadata = failures > 0 && rng.chance(0.4);
  const card = order.customer ? order.customer.card : shop.card(rng, order.region);
  const currency = order.currency.toLowerCase();
  const attempt = (createdMs: number, attemptCard: CardPlan, metadata: Record<string, string>, decline: Decline | null, riskScore: number): ChargeInput => ({
    id: `ch_3${rng.base62(23)}`,
    createdMs,
    amount: order.totalCents,
    currency,
    customer: order.customer ? order.customer.stripeCustomerId : null,
    paymentIntent,
    paymentMethod: `pm_1${rng.base62(23)}`,
    metadata,
    card: attemptCard,
    email: order.email?.trim().toLowerCase() || null,
    name: `${order.buyer.firstName} ${order.buyer.lastName}`,
    zip: order.zip,
    description: null,
    decline,
    balanceTransaction: decline ? '' : `txn_3${rng.base62(23)}`,
    riskScore,
    refundedMinor: 0,
  });

  const charges: ChargeInput[] = [];
  let attemptMs = order.createdMs - rng.int(120, 900) * 1000;
  for (let i = 0; i < failures; i++) {
    // A decline, then the buyer tries again (often with another card) on the same payment intent.
    charges.push(attempt(attemptMs, shop.card(rng, order.region), { order_id: orderRef }, DECLINES.sample(rng), rng.int(20, 75)));
    attemptMs += rng.int(20, 100) * 1000;
  }
  const success = attempt(order.createdMs + rng.int(0, 120) * 1000, card, successWithoutMetadata ? {} : { order_id: orderRef }, null, rng.int(0, 70));
  charges.push(success);

  const refunds: Json[] = [];
  for (const refund of order.refunds) {
    // Ids are drawn for every planned refund, seen or not, so they never shift between runs.
    const ids = [`re_3${rng.base62(23)}`, `re_3${rng.base62(23)}`] as const;
    const txn = `txn_3${rng.base62(23)}`;
    if (refund.atMs >= cutoffMs || success.createdMs >= cutoffMs) continue;
    // A failed Shopify refund transaction is a failed Stripe refund; only the success moves money.
    const common = { refund, orderId: order.id, charge: success.id, paymentIntent, currency, balanceTransaction: txn };
    if (refund.failedFirst) refunds.push(refundJson(ids[0], 'failed', common));
    refunds.push(refundJson(ids[1], 'succeeded', common));
    success.refundedMinor += refund.amountCents;
  }

  return { charges: charges.filter((c) => c.createdMs < cutoffMs).map(chargeJson), refunds };
}

/**
 * Charges on a day that no order stands behind (manual invoices): about 2% of the day's
 * succeeded charges, the "payments without order" of the reconciliation.
 */
export function invoiceCharges(shop: DemoShop, day: number, cutoffMs: number): Json[] {
  const rng = Rng.for(shop.seed, TAG_INVOICE, day);
  const n = rng.poisson(shop.expectedOrders(day) * 0.89 * 0.02);
  const out: Json[] = [];
  const market = MARKETS.USD;
  for (let i = 0; i < n; i++) {
    const region = market.regions.sample(rng);
    const invoice = `INV-${isoDay(day).replace(/-/g, '')}-${i + 1}`;
    const charge = chargeJson({
      id: `ch_3${rng.base62(23)}`,
      createdMs: day * DAY_MS + rng.int(13 * 3600, 23 * 3600) * 1000,
      amount: rng.int(40, 600) * 100 + rng.pick([0, 0, 50, 99]),
      currency: 'usd',
      customer: `cus_${rng.base62(14)}`,
      paymentIntent: `pi_3${rng.base62(23)}`,
      paymentMethod: `pm_1${rng.base62(23)}`,
      metadata: { invoice },
      card: shop.card(rng, region),
      email: null,
      name: 'Wholesale customer',
      zip: rng.pick(region.zips),
      description: `Invoice ${invoice}`,
      decline: null,
      balanceTransaction: `txn_3${rng.base62(23)}`,
      riskScore: rng.int(0, 40),
      refundedMinor: 0,
    });
    if ((charge.created as number) * 1000 < cutoffMs) out.push(charge);
  }
  return out;
}
