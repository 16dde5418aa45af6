import { sql, type RawBuilder } from 'kysely';
import { byRawKey } from '../incremental.ts';
import { defineModel } from '../model.ts';
import { asciiUpper } from '../sql.ts';
import { amountProblem, countProblem, currencyProblem, dateRange, problems, rawRecordsCheck, reportDateProblem } from '../validation.ts';

/**
 * Meta's attribution windows by kind, longest first: click-through, view-through and
 * engaged-view. Windows of one kind nest (a purchase within a day of a click is within 7 and 28
 * days of it too); the kinds do not overlap (a view-through conversion is one without a click;
 * docs/sources/meta-ads.md, "Attribution windows", says what that rests on).
 * Each requested window comes back as its own key of an `actions[]` / `action_values[]` entry
 * (Ads Action Stats: `"7d_click": "2"`), next to `value`, which is "the metric value of
 * default attribution window", the account's setting rather than the one asked for.
 */
const ATTRIBUTION_WINDOW_KINDS = [
  ['28d_click', '7d_click', '1d_click'],
  ['28d_view', '7d_view', '1d_view'],
  ['1d_ev'],
] as const;

/**
 * The keys of an entry (`x`, jsonb) that are read: of each kind, the longest window the entry
 * holds, or `value` when it holds no window at all (a row landed without windows). An entry
 * thus says for itself what it counts, whatever the configuration is now.
 */
const readKeys = (x: RawBuilder<unknown>) => {
  const longest = ATTRIBUTION_WINDOW_KINDS.map(
    (kind) => sql`case ${sql.join(kind.map((w) => sql`when ${x} ? ${sql.lit(w)} then ${sql.lit(w)}`), sql` `)} end`,
  );
  return sql`coalesce(nullif(array_remove(array[${sql.join(longest)}]::text[], null), '{}'), array['value'])`;
};

/** The entries of one list of the counted action type, with their 1-based position. */
const entries = (list: 'actions' | 'action_values', actionType: string) =>
  sql`jsonb_array_elements(case when jsonb_typeof(_record->${sql.lit(list)}) = 'array' then _record->${sql.lit(list)} else '[]'::jsonb end)
      with ordinality as a(item, ord)
    cross join lateral unnest(${readKeys(sql`a.item`)}) with ordinality as k(key, n)
    where a.item->>'action_type' = ${sql.lit(actionType)}`;

/**
 * The count (or value) of one action type in an Insights `actions[]` / `action_values[]` list:
 * the sum, over the kinds of window, of the longest window each entry holds (see
 * {@link readKeys}). Meta reports one purchase under several overlapping types, so exactly one
 * type is read.
 */
const action = (list: 'actions' | 'action_values', actionType: string) =>
  sql<string>`coalesce((select sum(ops.parse_decimal(a.item->>k.key)) from ${entries(list, actionType)}), 0)`;

/** What {@link action} reads must be an amount (the other types and keys are never read). */
const actionProblem = (list: 'actions' | 'action_values', actionType: string) =>
  sql<string | null>`(select string_agg(${amountProblem(sql`${sql.lit(`${list}[`)} || (a.ord - 1) || '].' || k.key`, sql`a.item->>k.key`, { required: true })}, '; ' order by a.ord, k.n)
    from ${entries(list, actionType)})`;

/**
 * One row per Meta ad account × campaign × date. A row whose spend, counts, counted action
 * values or currency do not parse is set aside.
 */
export const stagingMetaAdsCampaigns = defineModel({
  name: 'staging.meta_ads_campaigns',
  dependsOn: ['raw.meta_ads__campaign_insights_daily'],
  description: "Meta campaign-day Insights rows; purchases are the configured action type's count and value in the attribution windows each row holds.",
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
