import { describe, expect, it } from 'vitest';
import { catalog } from '../../catalog/catalog.ts';

/**
 * A record plainly of another kind than its stream's (a Stripe object by its `object`, a Shopify
 * one by the type in its `admin_graphql_api_id`) is named, with the stream that takes it: a file
 * imported into the wrong stream would otherwise land on its ids alone.
 */
describe("a record of another kind than the stream's", () => {
  const { shopify, stripe } = catalog;

  it('is named with the stream that takes it', () => {
    expect(shopify.orders.kindProblem!({ id: 'ch_1', object: 'charge' })).toBe('a Stripe charge (its "object" is "charge"): import it as stripe charges');
    expect(stripe.charges.kindProblem!({ id: 're_1', object: 'refund' })).toBe('a Stripe refund (its "object" is "refund"), not a charge: import it as stripe refunds');
    expect(stripe.refunds.kindProblem!({ id: 'txn_1', object: 'balance_transaction' })).toBe(
      'a Stripe balance transaction (its "object" is "balance_transaction"), not a refund: import it as stripe balance_transactions',
    );
    expect(shopify.orders.kindProblem!({ id: 207119551, admin_graphql_api_id: 'gid://shopify/Customer/207119551' })).toBe(
      'a Shopify customer (its admin_graphql_api_id is a Customer id), not an order: import it as shopify customers',
    );
    expect(shopify.customers.kindProblem!({ id: 450789469, admin_graphql_api_id: 'gid://shopify/Order/450789469' })).toBe(
      'a Shopify order (its admin_graphql_api_id is an Order id), not a customer: import it as shopify orders',
    );
  });

  it('lets through a record of its own kind, and one that says nothing of its kind', () => {
    expect(stripe.charges.kindProblem!({ id: 'ch_1', object: 'charge' })).toBeUndefined();
    expect(shopify.orders.kindProblem!({ id: 450789469, admin_graphql_api_id: 'gid://shopify/Order/450789469' })).toBeUndefined();
    expect(shopify.orders.kindProblem!({ id: 450789469, name: '#1001' })).toBeUndefined();
    expect(stripe.charges.kindProblem!({ id: 'ch_1' })).toBeUndefined();
    // An object Stripe has that no stream of verite holds says nothing either.
    expect(stripe.charges.kindProblem!({ id: 'cus_1', object: 'customer' })).toBeUndefined();
  });
});
