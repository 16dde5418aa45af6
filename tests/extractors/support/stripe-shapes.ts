/**
 * The shapes of the Stripe answers the Stripe stand-in (stripe-server.ts) gives, as Stripe
 * publishes them for the API version the `stripe` package pins: every field Stripe always sends
 * (required), with its JSON type, and the fields it may send (optional). Nothing else is allowed
 * at the top level of an object, so a stand-in answer with a made-up field, or without one
 * Stripe always sends, fails.
 *
 * Derived by hand (no vendor file is copied) from:
 * - the `stripe` package 23.1.0, whose types are generated from Stripe's OpenAPI document
 *   (its `OPENAPI_VERSION`: v2596) for the version it pins, `2026-10-28.endive`:
 *   `cjs/resources/Charges.d.ts` (interface Charge), `cjs/resources/Refunds.d.ts` (Refund),
 *   `cjs/resources/Events.d.ts` (EventBase, Event.Request), `cjs/lib.d.ts` (ApiList),
 *   `cjs/Types.d.ts` (StripeRawError). A field typed `T | null` is required and nullable; a
 *   field marked `?` is optional.
 * - checked against github.com/stripe/openapi, `openapi/fixtures3.json` at commit
 *   f6c2a48fbac2819d1feba8143d942ffc65e1c0d2 (tag v2436, API version 2026-07-29.dahlia), whose
 *   example charge, refund and event carry exactly the required fields below (plus the optional
 *   `refunds` of the charge and `destination_details` of the refund). That snapshot does not hold
 *   `openapi/spec3.json` itself (its files of 4 MiB and more are left out), so the `required`
 *   lists come from the package's types, which Stripe generates from that document.
 * - the error envelope from Stripe's OpenAPI `error` / `api_errors` schemas as the package's
 *   `StripeRawError` renders them: `{error: {type, message?, code?, param?, doc_url?, …}}`.
 */
import { z } from 'zod';

const json = z.record(z.string(), z.unknown());
const nullableString = z.string().nullable();
const int = z.number().int();
/** An expandable reference: an id, or the object when expanded; null when there is none. */
const expandable = z.union([z.string(), json]).nullable();

export const chargeShape = z
  .object({
    id: z.string().startsWith('ch_'),
    object: z.literal('charge'),
    amount: int,
    amount_captured: int,
    amount_refunded: int,
    application: expandable,
    application_fee: expandable,
    application_fee_amount: int.nullable(),
    authorization_code: z.string().optional(),
    balance_transaction: expandable,
    billing_details: z.object({ address: json.nullable(), email: nullableString, name: nullableString, phone: nullableString, tax_id: nullableString }).strict(),
    calculated_statement_descriptor: nullableString,
    captured: z.boolean(),
    created: int,
    currency: z.string().regex(/^[a-z]{3}$/),
    customer: expandable,
    description: nullableString,
    disputed: z.boolean(),
    failure_balance_transaction: expandable,
    failure_code: nullableString,
    failure_message: nullableString,
    fraud_details: json.nullable(),
    livemode: z.boolean(),
    metadata: z.record(z.string(), z.string()),
    on_behalf_of: expandable,
    outcome: json.nullable(),
    paid: z.boolean(),
    payment_intent: expandable,
    payment_method: nullableString,
    payment_method_details: json.nullable(),
    presentment_details: json.optional(),
    radar_options: json.optional(),
    receipt_email: nullableString,
    receipt_number: nullableString,
    receipt_url: nullableString,
    refunded: z.boolean(),
    /** Included whole before API version 2022-11-15; expandable since. */
    refunds: z.object({ object: z.literal('list'), data: z.array(json), has_more: z.boolean(), url: z.string() }).passthrough().nullable().optional(),
    review: expandable,
    shipping: json.nullable(),
    source: json.nullable(),
    source_transfer: expandable,
    statement_descriptor: nullableString,
    statement_descriptor_suffix: nullableString,
    status: z.enum(['failed', 'pending', 'succeeded']),
    transfer: z.union([z.string(), json]).optional(),
    transfer_data: json.nullable(),
    transfer_group: nullableString,
  })
  .strict();

export const refundShape = z
  .object({
    id: z.string().startsWith('re_'),
    object: z.literal('refund'),
    amount: int,
    balance_transaction: expandable,
    charge: expandable,
    created: int,
    currency: z.string().regex(/^[a-z]{3}$/),
    customer: expandable,
    customer_account: nullableString,
    description: z.string().optional(),
    destination_details: json.optional(),
    failure_balance_transaction: z.union([z.string(), json]).optional(),
    failure_reason: z.string().optional(),
    instructions_email: z.string().optional(),
    metadata: z.record(z.string(), z.string()).nullable(),
    next_action: json.optional(),
    payment_intent: expandable,
    payment_method: expandable,
    pending_reason: z.string().optional(),
    presentment_details: json.optional(),
    reason: z.enum(['duplicate', 'expired_uncaptured_charge', 'fraudulent', 'requested_by_customer']).nullable(),
    receipt_number: nullableString,
    source_transfer_reversal: expandable,
    status: nullableString,
    transfer_reversal: expandable,
  })
  .strict();

export const eventShape = z
  .object({
    id: z.string().startsWith('evt_'),
    object: z.literal('event'),
    account: z.string().optional(),
    api_version: nullableString,
    context: z.string().optional(),
    created: int,
    data: z.object({ object: json, previous_attributes: json.optional() }).strict(),
    livemode: z.boolean(),
    pending_webhooks: int,
    request: z.object({ id: nullableString, idempotency_key: nullableString }).strict().nullable(),
    type: z.string(),
  })
  .strict();

/**
 * A BalanceTransaction, from the package's `cjs/resources/BalanceTransactions.d.ts` (interface
 * BalanceTransaction and its FeeDetail), checked against the example `balance_transaction` of
 * `openapi/fixtures3.json` (the same fields, with `fee_details` empty for its fee of 0).
 */
export const balanceTransactionShape = z
  .object({
    id: z.string().startsWith('txn_'),
    object: z.literal('balance_transaction'),
    amount: int,
    available_on: int,
    balance_type: z.string(),
    created: int,
    currency: z.string().regex(/^[a-z]{3}$/),
    description: nullableString,
    exchange_rate: z.number().nullable(),
    fee: int,
    fee_details: z.array(z.object({ amount: int, application: nullableString, currency: z.string().regex(/^[a-z]{3}$/), description: nullableString, type: z.string() }).strict()),
    net: int,
    reporting_category: z.string(),
    source: expandable,
    status: z.string(),
    type: z.string(),
  })
  .strict();

/** A list answer (`ApiList`) of items of `item`. */
export const listShape = <T extends z.ZodType>(item: T) =>
  z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean(), url: z.string().startsWith('/v1/') }).strict();

export const errorShape = z
  .object({
    error: z
      .object({
        type: z.enum(['api_error', 'card_error', 'idempotency_error', 'invalid_request_error']),
        message: z.string().optional(),
        code: z.string().optional(),
        param: z.string().optional(),
        doc_url: z.string().optional(),
        decline_code: z.string().optional(),
        request_log_url: z.string().optional(),
      })
      .strict(),
  })
  .strict();
