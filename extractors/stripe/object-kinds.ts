/**
 * What differs between the Stripe objects verite reads: the stream, the object's name (the
 * `object` field Stripe sets), its list/retrieve path, and the event types that announce a
 * change of it. Everything else (windows, events, retries) is shared.
 */
export interface StripeObjectKind {
  stream: 'charges' | 'refunds';
  object: 'charge' | 'refund';
  /** The API path of the list, e.g. `/v1/charges`, for logs and errors. */
  path: string;
  /**
   * Event types whose `data.object` is this object (at most 20, Stripe's limit for `types`).
   * `charge.dispute.*` and `charge.refund.updated` are not listed for charges: their object is
   * a dispute or a refund.
   */
  eventTypes: readonly string[];
}

export const CHARGES: StripeObjectKind = {
  stream: 'charges',
  object: 'charge',
  path: '/v1/charges',
  eventTypes: ['charge.succeeded', 'charge.failed', 'charge.pending', 'charge.captured', 'charge.expired', 'charge.refunded', 'charge.updated'],
};

export const REFUNDS: StripeObjectKind = {
  stream: 'refunds',
  object: 'refund',
  path: '/v1/refunds',
  eventTypes: ['refund.created', 'refund.updated', 'refund.failed', 'charge.refund.updated'],
};
