/**
 * The shapes of the Graph API answers the Meta stand-in (meta-graph-server.ts) gives, as Meta
 * publishes them: the ad account read, the start of an async Insights report, its status, a page
 * of its results, and an error.
 *
 * Derived by hand (no vendor file is copied) from:
 * - Meta's API specification of its Business SDKs, github.com/facebook/facebook-business-sdk-codegen,
 *   `api_specs/specs/AdsInsights.json`, `AdsActionStats.json`, `AdReportRun.json` and
 *   `AdAccount.json` at commit ad2b0b6fdfbe4d73ed0754cb4562ef20b72b40d4 (2026-04-15): the field
 *   names and their types (`string`, `unsigned int`, `list<AdsActionStats>`). Insights numbers
 *   are strings there, as the Graph API sends them.
 * - the Graph API guide "Handling Errors" (developers.facebook.com/docs/graph-api/guides/error-handling):
 *   `{error: {message, type, code, error_subcode, error_user_title, error_user_msg, fbtrace_id}}`;
 *   `is_transient` as the Marketing API adds it.
 * - the Insights guide "Asynchronous jobs" and "Limits and Best Practices": an async report
 *   starts with `{report_run_id}`; `async_status` is one of Job Not Started, Job Started, Job
 *   Running, Job Completed, Job Failed, Job Skipped; result pages carry `paging.cursors` and an
 *   absolute `paging.next`.
 */
import { z } from 'zod';

const numeric = z.string().regex(/^-?\d+(\.\d+)?$/, 'a number written as a string');

/** Every field of AdsActionStats (all `string`). */
const ACTION_STATS_FIELDS = [
  '1d_click', '1d_click_all_conversions', '1d_click_first_conversion', '1d_ev', '1d_ev_all_conversions', '1d_ev_first_conversion', '1d_passback',
  '1d_view', '1d_view_all_conversions', '1d_view_first_conversion', '28d_click', '28d_click_all_conversions', '28d_click_first_conversion',
  '28d_passback', '28d_view', '28d_view_all_conversions', '28d_view_first_conversion', '7d_click', '7d_click_all_conversions',
  '7d_click_first_conversion', '7d_passback', '7d_view', '7d_view_all_conversions', '7d_view_first_conversion', 'action_brand',
  'action_canvas_component_id', 'action_canvas_component_name', 'action_carousel_card_id', 'action_carousel_card_name', 'action_category',
  'action_converted_product_id', 'action_destination', 'action_device', 'action_event_channel', 'action_link_click_destination',
  'action_location_code', 'action_reaction', 'action_target_id', 'action_type', 'action_video_asset_id', 'action_video_sound',
  'action_video_type', 'dda', 'incrementality', 'incrementality_all_conversions', 'incrementality_first_conversion', 'inline',
  'interactive_component_sticker_id', 'interactive_component_sticker_response', 'promoted_product_set_result', 'skan_click',
  'skan_click_second_postback', 'skan_click_third_postback', 'skan_view', 'skan_view_second_postback', 'skan_view_third_postback', 'value',
] as const;

const actionStats = z.object(Object.fromEntries(ACTION_STATS_FIELDS.map((f) => [f, z.string().optional()]))).strict();

/** An AdsInsights row with the fields the Meta source asks for (docs/streams.md), each of the spec's type. */
export const insightsRowShape = z
  .object({
    account_id: z.string(),
    account_currency: z.string().regex(/^[A-Z]{3}$/),
    campaign_id: z.string(),
    campaign_name: z.string(),
    date_start: z.iso.date(),
    date_stop: z.iso.date(),
    spend: numeric,
    impressions: numeric,
    reach: numeric,
    clicks: numeric,
    actions: z.array(actionStats.extend({ action_type: z.string() })).optional(),
    action_values: z.array(actionStats.extend({ action_type: z.string() })).optional(),
  })
  .strict();

/** `GET act_{id}?fields=account_id,name,timezone_name,currency`: the object's id and the fields asked. */
export const adAccountShape = z.object({ id: z.string().regex(/^act_\d+$/), account_id: z.string(), name: z.string(), timezone_name: z.string(), currency: z.string() }).strict();

/** `POST act_{id}/insights`: the report run started. */
export const reportRunStartShape = z.object({ report_run_id: z.string() }).strict();

/** `GET {report_run_id}?fields=…`: AdReportRun fields (the id, and any of the spec's fields). */
export const reportRunShape = z
  .object({
    id: z.string(),
    account_id: z.string().optional(),
    async_status: z.enum(['Job Not Started', 'Job Started', 'Job Running', 'Job Completed', 'Job Failed', 'Job Skipped']),
    async_percent_completion: z.number().int().min(0).max(100),
    date_start: z.iso.date().optional(),
    date_stop: z.iso.date().optional(),
    time_ref: z.number().int().optional(),
    time_completed: z.number().int().optional(),
    is_running: z.boolean().optional(),
  })
  .strict();

/** `GET {report_run_id}/insights`: a page of rows. */
export const resultsPageShape = z
  .object({
    data: z.array(insightsRowShape),
    paging: z.object({ cursors: z.object({ before: z.string(), after: z.string() }).strict(), next: z.url().optional(), previous: z.url().optional() }).strict(),
  })
  .strict();

export const graphErrorShape = z
  .object({
    error: z
      .object({
        message: z.string(),
        type: z.string(),
        code: z.number().int(),
        error_subcode: z.number().int().optional(),
        error_user_title: z.string().optional(),
        error_user_msg: z.string().optional(),
        is_transient: z.boolean().optional(),
        fbtrace_id: z.string(),
      })
      .strict(),
  })
  .strict();
