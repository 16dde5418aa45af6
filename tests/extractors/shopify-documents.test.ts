import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSchema, Kind, parse, validate, type GraphQLSchema } from 'graphql';
import { BULK_RUN } from '../../extractors/shopify/queries.ts';
import { problems, SUBSET_FILE } from './support/shopify-admin-schema.ts';
import { documentsSent } from './support/shopify-documents.ts';

/**
 * Issue 11: every GraphQL document the Shopify extractor sends is valid against the Admin API
 * schema, checked here against the subset of it in support/shopify-admin-subset.graphql (its
 * header says which schema it was cut from; docs/sources/shopify.md how to check a new one).
 */

let schema: GraphQLSchema;
let documents: Map<string, string>;

beforeAll(async () => {
  schema = buildSchema(readFileSync(SUBSET_FILE, 'utf8'));
  documents = await documentsSent();
});

describe('the Shopify documents against the Admin API schema', () => {
  it('sends every kind of document (pages, follow-ups, bulk run, poll, cancel and queries, deletions, products, stock levels, the check)', () => {
    expect([...documents.keys()].sort()).toEqual([
      'VeriteBulkCancel', 'VeriteBulkRun', 'VeriteBulkStatus', 'VeriteCheck', 'VeriteCustomerAddresses', 'VeriteCustomers', 'VeriteDeletions',
      'VeriteInventoryItemLevels', 'VeriteInventoryItems', 'VeriteOrderLineItems', 'VeriteOrders', 'VeriteProductVariants', 'VeriteProducts',
      'VeriteRefundMoreLineItems', 'VeriteRefundMoreShippingLines', 'VeriteRefundMoreTransactions', 'VeriteRefundTransactions', 'bulk query of customers', 'bulk query of orders', 'bulk query of products',
    ]);
  });

  it('validates every document sent, and uses no deprecated field or argument', () => {
    expect(problems(schema, documents)).toEqual([]);
  });

  it('would catch a field the schema does not have, or a wrong argument', () => {
    expect(validate(schema, parse('{ orders(first: 1) { nodes { id totalPrice } } }')).map((e) => e.message)).toEqual([
      'Cannot query field "totalPrice" on type "Order". Did you mean "totalPriceSet" or "totalTaxSet"?',
    ]);
    expect(validate(schema, parse('mutation { bulkOperationRunQuery(query: "{}", groupObjects: "no") { userErrors { message } } }')).map((e) => e.message)).toEqual([
      'Boolean cannot represent a non boolean value: "no"',
    ]);
  });

  it('asks for ungrouped bulk output explicitly (groupObjects: false), not through a default that changed in 2026-01', () => {
    const operation = parse(BULK_RUN).definitions[0]!;
    const field = operation.kind === Kind.OPERATION_DEFINITION ? operation.selectionSet.selections[0] : undefined;
    const argument = field?.kind === Kind.FIELD ? field.arguments?.find((a) => a.name.value === 'groupObjects') : undefined;
    expect(argument?.value).toEqual({ kind: Kind.BOOLEAN, value: false, loc: expect.anything() });
  });
});
