import { sql, type RawBuilder } from 'kysely';
import type { ChannelRule } from '../config/schema.ts';
import { asciiLower } from './sql.ts';

/**
 * The default channel rules of docs/metrics.md, first match wins, compared case-insensitively.
 * Conditions inside one rule all hold; a channel reached two ways has two rules.
 */
export const defaultChannelRules: readonly ChannelRule[] = Object.freeze([
  { channel: 'google_ads', mediums: ['cpc', 'ppc', 'paid', 'paidsearch', 'paid_search'], sourceContains: ['google'] },
  { channel: 'meta_ads', sources: ['facebook', 'fb', 'instagram', 'ig', 'meta'], mediums: ['cpc', 'paid', 'paid_social', 'paidsocial', 'social_paid'] },
  { channel: 'email', mediums: ['email'] },
  { channel: 'organic_search', mediums: ['organic'] },
  { channel: 'organic_search', noUtm: true, referrerHostContains: ['google.', 'bing.', 'duckduckgo.', 'yahoo.', 'ecosia.'] },
  { channel: 'referral', mediums: ['referral'] },
  { channel: 'referral', noUtm: true, anyReferrer: true },
  { channel: 'other', anySourceOrMedium: true },
]);

/** The channel given when no rule matches. */
export const FALLBACK_CHANNEL = 'direct';

/** The inputs of the rules, as SQL expressions (lower-cased, empty as null). */
export interface ChannelInputs {
  source: RawBuilder<string | null>;
  medium: RawBuilder<string | null>;
  /** The referrer's host, or null (GA4 rows have none). */
  referrerHost: RawBuilder<string | null>;
}

const lowerList = (values: readonly string[]) => sql.join(values.map((v) => sql.lit(v.toLowerCase())));

function condition(rule: ChannelRule, x: ChannelInputs): RawBuilder<boolean> {
  const parts: RawBuilder<boolean>[] = [];
  const source = asciiLower(x.source);
  const medium = asciiLower(x.medium);
  const host = asciiLower(x.referrerHost);
  if (rule.sources?.length) parts.push(sql<boolean>`${source} in (${lowerList(rule.sources)})`);
  if (rule.sourceContains?.length) {
    parts.push(sql<boolean>`(${sql.join(rule.sourceContains.map((s) => sql`strpos(${source}, ${sql.lit(s.toLowerCase())}) > 0`), sql` or `)})`);
  }
  if (rule.mediums?.length) parts.push(sql<boolean>`${medium} in (${lowerList(rule.mediums)})`);
  if (rule.noUtm) parts.push(sql<boolean>`(${x.source} is null and ${x.medium} is null)`);
  if (rule.referrerHostContains?.length) {
    parts.push(sql<boolean>`(${sql.join(rule.referrerHostContains.map((s) => sql`strpos(${host}, ${sql.lit(s.toLowerCase())}) > 0`), sql` or `)})`);
  }
  if (rule.anyReferrer) parts.push(sql<boolean>`${x.referrerHost} is not null`);
  if (rule.anySourceOrMedium) parts.push(sql<boolean>`(${x.source} is not null or ${x.medium} is not null)`);
  if (parts.length === 0) return sql<boolean>`true`;
  // A null input makes a comparison null, which a CASE treats as "no match".
  return sql<boolean>`coalesce(${sql.join(parts, sql` and `)}, false)`;
}

/**
 * The channel of a row as one SQL CASE over the rule table: the same rules for shop orders
 * (UTM parameters, else referrer) and GA4 rows (session source / medium).
 */
export function channelExpression(rules: readonly ChannelRule[], inputs: ChannelInputs): RawBuilder<string> {
  if (rules.length === 0) return sql<string>`${sql.lit(FALLBACK_CHANNEL)}`;
  const whens = rules.map((rule) => sql`when ${condition(rule, inputs)} then ${sql.lit(rule.channel)}`);
  return sql<string>`(case ${sql.join(whens, sql` `)} else ${sql.lit(FALLBACK_CHANNEL)} end)`;
}
