import { sql } from 'kysely';
import { defineModel, type TransformContext } from '../model.ts';
import { asciiLower, jsonElements, jsonId, jsonStrictTimestamp, jsonText, rawRecordsOnce } from '../sql.ts';
import { amountProblem, booleanProblem, currencyProblem, dateRange, problems, rawRecordsCheck, timestampProblem } from '../validation.ts';

/**
 * Why a product cannot be used, or null: its dates, and each variant's price, tracked flag and
 * unit cost (an amount with its currency). A bad variant sets the whole product aside, as a bad
 * line sets its order aside: half a product's variants would misstate its costs.
 */
export function shopifyProductProblem(ctx: TransformContext) {
  const range = dateRange(ctx);
  const text = (name: string) => sql`_record->>${sql.lit(name)}`;
  const at = (name: string) => sql.raw(`'variants[' || (v.ord - 1) || ']${name}'`);
  return problems(
    timestampProblem('created_at', text('created_at'), range),
    timestampProblem('updated_at', text('updated_at'), range),
    sql`(select string_agg(nullif(concat_ws('; ',
        ${amountProblem(at('.price'), sql`v.variant->>'price'`)},
        ${booleanProblem(at('.tracked'), sql`v.variant->>'tracked'`)},
        ${amountProblem(at('.unit_cost.amount'), sql`v.variant #>> '{unit_cost,amount}'`)},
        ${currencyProblem(at('.unit_cost.currency_code'), sql`v.variant #>> '{unit_cost,currency_code}'`, { required: false })},
        case when nullif(btrim(v.variant #>> '{unit_cost,amount}'), '') is not null and nullif(btrim(v.variant #>> '{unit_cost,currency_code}'), '') is null
          then ${at('.unit_cost')} || ' has an amount without a currency_code' end), ''), '; ')
      from ${jsonElements(sql`_record->'variants'`, 'v', 'variant')})`,
  );
}

/**
 * One row per Shopify product (the newest version landed), typed. A product whose fields do
 * not parse ({@link shopifyProductProblem}) is set aside with its variants.
 */
export const stagingShopifyProducts = defineModel({
  name: 'staging.shopify_products',
  dependsOn: ['raw.shopify__products'],
  description: 'Shopify products, one row per product, typed.',
  uniqueKey: ['product_id'],
  checks: [rawRecordsCheck('shopify', 'products', 'product_id', shopifyProductProblem)],
  build: (db) =>
    db.selectFrom(rawRecordsOnce('raw.shopify__products')).select([
      '_key as product_id',
      jsonText('_record', 'title').as('title'),
      jsonId('_record', 'product_type').as('product_type'),
      jsonId('_record', 'vendor').as('vendor'),
      sql<string | null>`${asciiLower(sql`nullif(btrim(_record->>'status'), '')`)}`.as('status'),
      jsonStrictTimestamp('_record', 'created_at').as('created_at'),
      jsonStrictTimestamp('_record', 'updated_at').as('updated_at'),
    ]),
});
