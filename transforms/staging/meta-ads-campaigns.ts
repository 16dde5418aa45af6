import { sql } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiUpper } from '../sql.ts';
import { amountProblem, countProblem, currencyProblem, dateRange, problems, rawRecordsCheck, reportDateProblem } from '../validation.ts';

/**
 * The value of one action type in an Insights `actions[]` / `action_values[]` list. Meta
 * reports one purchase under several overlapping types, so exactly one type is read.
 */
const action = (list: 'actions' | 'action_values', actionType: string) =>
  sql<string>`coalesce((select sum(ops.parse_decimal(a->>'value')) from jsonb_array_elements(
      case when jsonb_typeof(_record->${sql.lit(list)}) = 'array' then _record->${sql.lit(list)} else '[]'::jsonb end) a
    where a->>'action_type' = ${sql.lit(actionType)}), 0)`;

/** The counted action type's values of one list must parse (the other types are never read). */
const actionProblem = (list: 'actions' | 'action_values', actionType: string) =>
  sql<string | null>`(select string_agg(${amountProblem(sql.raw(`'${list}[' || (a.ord - 1) || '].value'`), sql`a.item->>'value'`, { required: true })}, '; ')
    from jsonb_array_elements(case when jsonb_typeof(_record->${sql.lit(list)}) = 'array' then _record->${sql.lit(list)} else '[]'::jsonb end) with ordinality as a(item, ord)
    where a.item->>'action_type' = ${sql.lit(actionType)})`;

/**
 * One row per Meta ad account × campaign × date. A row whose spend, counts, counted action
 * values or currency do not parse is set aside.
 */
export const stagingMetaAdsCampaigns = defineModel({
  name: 'staging.meta_ads_campaigns',
  dependsOn: ['raw.meta_ads__campaign_insights_daily'],
  description: "Meta campaign-day Insights rows; purchases are the configured action type's count and value.",
  uniqueKey: ['row_key'],
  checks: [
    rawRecordsCheck('meta_ads', 'campaign_insights_daily', 'row_key', (ctx) => {
      const text = (name: string) => sql`_record->>${sql.lit(name)}`;
      return problems(
        reportDateProblem(dateRange(ctx)),
        currencyProblem('account_currency', text('account_currency'), { required: true }),
        amountProblem('spend', text('spend')),
        countProblem('clicks', text('clicks')),
        countProblem('impressions', text('impressions')),
        countProblem('reach', text('reach')),
        actionProblem('actions', ctx.metaPurchaseActionType),
        actionProblem('action_values', ctx.metaPurchaseActionType),
      );
    }),
  ],
  incremental: byRawKey('meta_ads', 'campaign_insights_daily', 'row_key'),
  build: (db, ctx) =>
    db.selectFrom('raw.meta_ads__campaign_insights_daily').select([
      '_key as row_key',
      '_report_date as date',
      sql<string>`_record->>'account_id'`.as('account_id'),
      sql<string>`${asciiUpper(sql`btrim(_record->>'account_currency')`)}`.as('currency'),
      sql<string | null>`_record->>'account_timezone_name'`.as('account_time_zone'),
      sql<string>`_record->>'campaign_id'`.as('campaign_id'),
      sql<string | null>`_record->>'campaign_name'`.as('campaign_name'),
      sql<string>`coalesce(ops.parse_decimal(_record->>'spend'), 0)`.as('spend'),
      sql<number>`coalesce(ops.parse_integer(_record->>'clicks'), 0)::bigint`.as('clicks'),
      sql<number>`coalesce(ops.parse_integer(_record->>'impressions'), 0)::bigint`.as('impressions'),
      sql<number>`coalesce(ops.parse_integer(_record->>'reach'), 0)::bigint`.as('reach'),
      action('actions', ctx.metaPurchaseActionType).as('conversions'),
      action('action_values', ctx.metaPurchaseActionType).as('conversions_value'),
    ]),
});
