/**
 * What differs between the Stripe objects verite reads: the stream, the object's name (the
 * `object` field Stripe sets), its list/retrieve path, and the event types that announce a
 * change of it. Everything else (windows, events, retries) is shared.
 */
export interface StripeObjectKind {
  stream: 'charges' | 'refunds' | 'balance_transactions';
  object: 'charge' | 'refund' | 'balance_transaction';
  /** The API path of the list, e.g. `/v1/charges`, for logs and errors. */
  path: string;
  /**
   * Event types that announce a change of this object (at most 20, Stripe's limit for `types`).
   * Mostly their `data.object` is this object; `charge.dispute.*` and `charge.refund.updated` are
   * not listed for charges: their object is a dispute or a refund. For refunds, `charge.refunded`
   * (whose object is the charge) is listed too: see {@link REFUNDS}.
   */
  eventTypes: readonly string[];
}

export const CHARGES: StripeObjectKind = {
  stream: 'charges',
  object: 'charge',
  path: '/v1/charges',
  eventTypes: ['charge.succeeded', 'charge.failed', 'charge.pending', 'charge.captured', 'charge.expired', 'charge.refunded', 'charge.updated'],
};

/**
 * On an account whose API version is older than 2024-10-28.acacia, Stripe sends `refund.*`
 * events only for refunds without a charge: a refund of a charge is announced by
 * `charge.refunded` (its object is the charge) and later changes by `charge.refund.updated`
 * (Stripe changelog "refund-webhook-update"). Both are read, so such a refund is not missed.
 */
export const REFUNDS: StripeObjectKind = {
  stream: 'refunds',
  object: 'refund',
  path: '/v1/refunds',
  eventTypes: ['refund.created', 'refund.updated', 'refund.failed', 'charge.refund.updated', 'charge.refunded'],
};

/**
 * Balance transactions (fees, net amounts, payouts) are listed by creation time with a lookback,
 * never through events: Stripe sends no event for one (a pending transaction becoming
 * available, its one change, announces nothing).
 */
export const BALANCE_TRANSACTIONS: StripeObjectKind = {
  stream: 'balance_transactions',
  object: 'balance_transaction',
  path: '/v1/balance_transactions',
  eventTypes: [],
};
