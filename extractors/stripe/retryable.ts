import Stripe from 'stripe';
import { defaultRetryable, parseRetryAfter } from '../../lib/http.ts';

/**
 * Which errors of the Stripe client are worth another attempt. The client itself is told not
 * to retry (`maxNetworkRetries: 0`): it would not retry a plain 429 anyway (it only honours
 * `Stripe-Should-Retry`), and one retry policy for every provider is easier to reason about.
 *
 * Retried: 429 (waiting at least its Retry-After), 5xx, `api_error` (Stripe's own "temporary
 * problem", also what the client throws for a body that is not JSON, e.g. a proxy's 502 page),
 * connection errors and time-outs, and anything Stripe marks `Stripe-Should-Retry: true`.
 * Not retried: authentication, permission and invalid-request errors, which no wait will fix.
 */
export function stripeRetryable(error: unknown): { retry: boolean; retryAfterMs?: number; status?: number } {
  if (!(error instanceof Stripe.errors.StripeError)) return defaultRetryable(error);
  const status = error.statusCode;
  const header = (name: string) => error.headers?.[name] ?? error.headers?.[name.toLowerCase()];
  const shouldRetry = header('stripe-should-retry');
  if (shouldRetry === 'false') return { retry: false, status };
  if (error instanceof Stripe.errors.StripeRateLimitError || status === 429) {
    return { retry: true, status: status ?? 429, retryAfterMs: parseRetryAfter(header('retry-after')) };
  }
  if (
    shouldRetry === 'true' ||
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    (status !== undefined && status >= 500)
  ) {
    return { retry: true, status, retryAfterMs: parseRetryAfter(header('retry-after')) };
  }
  return { retry: false, status };
}
