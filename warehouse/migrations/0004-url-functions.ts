import { sql, type Kysely } from 'kysely';

/**
 * Replaces the URL functions of 0002 (already applied on existing warehouses, so not edited in
 * place; issue 3):
 * - `ops.url_host` also reads a referrer written without a scheme (`www.google.com/search`,
 *   `google.com`), as Shopify's `referring_site` sometimes is, and skips `user:password@`;
 * - `ops.url_param` matches the parameter name case-insensitively (`UTM_SOURCE`) and accepts
 *   HTML-escaped `&amp;` separators (a landing URL copied out of an HTML attribute).
 * Backslashes are doubled for the JavaScript template; PostgreSQL sees single ones.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // A parameter's value, decoded; null when absent or empty. The name is matched literally
  // (every character that is not a letter, digit or '_' is escaped for the regular expression).
  await sql`
    create or replace function ops.url_param(url text, name text) returns text language sql immutable as $$
      select nullif(btrim(ops.url_decode(substring(url from
        '(?i)[?&](?:amp;)?' || regexp_replace(name, '([^a-zA-Z0-9_])', '\\\\\\1', 'g') || '=([^&#]*)'))), '')
    $$`.execute(db);
  // The host, lower-cased: after 'scheme://' or '//', else at the start when the text begins
  // with a dotted host name followed by a port, '/', '?', '#' or nothing. Null when none
  // ('/path', 'mailto:x@y.z', '').
  await sql`
    create or replace function ops.url_host(url text) returns text language sql immutable as $$
      select nullif(coalesce(
        substring(u from '^(?:[a-z][a-z0-9+.-]*:)?//(?:[^/?#@]*@)?([^/?#:@]+)'),
        substring(u from '^(?:[^/?#@:]*@)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\\.?(?::[0-9]*)?(?:[/?#]|$)')
      ), '')
      from (select lower(btrim(url)) as u) x
    $$`.execute(db);
}

/** Puts back the 0002 definitions. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function ops.url_param(url text, name text) returns text language sql immutable as $$
      select nullif(btrim(ops.url_decode(substring(url from '[?&]' || name || '=([^&#]*)'))), '')
    $$`.execute(db);
  await sql`
    create or replace function ops.url_host(url text) returns text language sql immutable as $$
      select nullif(lower(substring(btrim(url) from '^(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//([^/?#:]+)')), '')
    $$`.execute(db);
}
