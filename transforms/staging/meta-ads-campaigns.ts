import { sql } from 'kysely';
import { defineModel } from '../model.ts';

/**
 * The value of one action type in an Insights `actions[]` / `action_values[]` list. Meta
 * reports one purchase under several overlapping types, so exactly one type is read.
 */
const action = (list: 'actions' | 'action_values', actionType: string) =>
  sql<string>`coalesce((select sum(ops.try_numeric(a->>'value')) from jsonb_array_elements(
      case when jsonb_typeof(_record->${sql.lit(list)}) = 'array' then _record->${sql.lit(list)} else '[]'::jsonb end) a
    where a->>'action_type' = ${sql.lit(actionType)}), 0)`;

/** One row per Meta ad account × campaign × date. */
export const stagingMetaAdsCampaigns = defineModel({
  name: 'staging.meta_ads_campaigns',
  dependsOn: ['raw.meta_ads__campaign_insights_daily'],
  description: "Meta campaign-day Insights rows; purchases are the configured action type's count and value.",
  uniqueKey: ['row_key'],
  build: (db, ctx) =>
    db.selectFrom('raw.meta_ads__campaign_insights_daily').select([
      sql<string>`_key`.as('row_key'),
      sql<string>`_report_date`.as('date'),
      sql<string>`_record->>'account_id'`.as('account_id'),
      sql<string>`upper(_record->>'account_currency')`.as('currency'),
      sql<string | null>`_record->>'account_timezone_name'`.as('account_time_zone'),
      sql<string>`_record->>'campaign_id'`.as('campaign_id'),
      sql<string | null>`_record->>'campaign_name'`.as('campaign_name'),
      sql<string>`coalesce(ops.try_numeric(_record->>'spend'), 0)`.as('spend'),
      sql<number>`coalesce(ops.try_numeric(_record->>'clicks'), 0)::bigint`.as('clicks'),
      sql<number>`coalesce(ops.try_numeric(_record->>'impressions'), 0)::bigint`.as('impressions'),
      sql<number>`coalesce(ops.try_numeric(_record->>'reach'), 0)::bigint`.as('reach'),
      action('actions', ctx.metaPurchaseActionType).as('conversions'),
      action('action_values', ctx.metaPurchaseActionType).as('conversions_value'),
    ]),
});
