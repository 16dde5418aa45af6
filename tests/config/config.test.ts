import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseUrlFromEnv, jsonErrorOffset, loadConfig, readSecret, withoutJsonPlace } from '../../config/load.ts';
import type { VeriteConfig } from '../../config/schema.ts';
import { ConfigError } from '../../lib/errors.ts';
import { redactString } from '../../lib/logger.ts';
import { WARNING_CODES } from '../../lib/warning-codes.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'verite-config-'));
  made.push(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}


/** What a config file holding `content` gives at `pick`, or its problems, joined. */
function loaded<T>(content: object, pick: (config: VeriteConfig) => T): Promise<T | string> {
  return loadConfig({ cwd: dir({ 'verite.config.json': JSON.stringify(content) }), env: {} }).then(
    ({ config }) => pick(config),
    (e: ConfigError) => e.problems.join('; '),
  );
}

describe('configuration', () => {
  it('applies the documented defaults when there is no file', async () => {
    const { config, file } = await loadConfig({ cwd: dir({}), env: {} });
    expect(file).toBeNull();
    expect(config.reportingTimezone).toBe('UTC');
    expect(config.reportingCurrency).toBe('USD');
    expect(config.churnAfterDays).toBe(180);
    expect(config.schedules).toEqual([{ cron: '0 3 * * *' }]);
  });

  it('reads YAML, and the environment overrides the file', async () => {
    const cwd = dir({ 'verite.config.yaml': 'reportingTimezone: Europe/Paris\nreportingCurrency: eur\nsources:\n  stripe:\n    secretKeyEnv: MY_STRIPE\n' });
    const { config } = await loadConfig({ cwd, env: { VERITE_CHURN_AFTER_DAYS: '90', VERITE_REPORTING_CURRENCY: 'gbp' } });
    expect(config.reportingTimezone).toBe('Europe/Paris');
    expect(config.reportingCurrency).toBe('GBP');
    expect(config.churnAfterDays).toBe(90);
    expect(config.sources.stripe?.secretKeyEnv).toBe('MY_STRIPE');
  });

  it('reports every mistake at once', async () => {
    const cwd = dir({
      'verite.config.json': JSON.stringify({
        reportingTimezone: 'Mars/Olympus',
        reportingCurrency: 'dollars',
        sources: { shopify: { shop: 'not a domain' }, ga4: {} },
        surprise: true,
      }),
    });
    const error = await loadConfig({ cwd, env: { VERITE_CHURN_AFTER_DAYS: 'soon' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/reportingTimezone: not an IANA time zone/);
    expect(problems).toMatch(/reportingCurrency: expected an ISO 4217/);
    expect(problems).toMatch(/sources\.shopify\.shop: expected the shop's myshopify\.com domain/);
    expect(problems).toMatch(/sources\.ga4\.propertyIds/);
    expect(problems).toMatch(/surprise/);
    expect(problems).toMatch(/VERITE_CHURN_AFTER_DAYS/);
    expect((error as ConfigError).problems.length).toBe(6);
  });

  it('takes off the blanks, line end and quotes a secret was stored with, and hides the value as given and as read', () => {
    // Built by parts, as a real token would be refused by the repository's checks.
    const token = 'shpat_' + 'a1b2c3d4e5f6';
    const read = (value: string) => readSecret('SHOP_TOKEN', 'shopify: SHOP_TOKEN', { SHOP_TOKEN: value });
    expect(read(token)).toBe(token);
    // A .env file saved with CRLF; a docker --env-file line KEY="value"; one pasted with blanks.
    expect(read(`${token}\r`)).toBe(token);
    expect(read(`"${token}"`)).toBe(token);
    expect(read(` '${token}'\n`)).toBe(token);
    // Quotes that do not enclose the whole are part of the value.
    expect(read(`"${token}`)).toBe(`"${token}`);
    expect(() => read(' \r\n')).toThrow('shopify: SHOP_TOKEN: the environment variable SHOP_TOKEN is set but empty');
    expect(() => read('""')).toThrow(/is set but empty/);
    expect(() => read('')).toThrow(/is not set/);
    // Both the value read and the one given are redacted wherever they show up.
    expect(redactString(`sent ${token}; given "${token}"`)).not.toContain(token);
  });

  it('takes the codes of the warnings to silence, and refuses one it does not know, naming the close one', async () => {
    expect(await loaded({ silenceWarnings: ['ga4-thresholds', 'sold-lines-without-cost'] }, (c) => c.silenceWarnings)).toEqual(['ga4-thresholds', 'sold-lines-without-cost']);
    expect(await loaded({}, (c) => c.silenceWarnings)).toEqual([]);
    // docs/operations.md lists every code with what it warns of.
    const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    for (const [code, says] of Object.entries(WARNING_CODES)) expect(doc, code).toContain(`| \`${code}\` | ${says} |`);
    expect(await loaded({ silenceWarnings: ['ga4-threshold'] }, (c) => c.silenceWarnings)).toMatch(/^silenceWarnings\.0: no warning "ga4-threshold" \(did you mean ga4-thresholds\?\) \(the codes: ga4-thresholds, ga4-sampled, /);
  });

  it('places a JSON error by line and column, and names the comment or trailing comma JSON does not allow', async () => {
    const problem = (text: string) => loadConfig({ cwd: dir({ 'verite.config.json': text }), env: {} }).then(() => '', (e: ConfigError) => e.problems.join('; '));
    expect(await problem('{\n  "reportingTimezone": "Europe/Paris",\n}\n')).toMatch(
      /verite\.config\.json: cannot be parsed: .* at position 41 \(line 3, column 1: "}"\); JSON allows no comma after the last entry$/,
    );
    expect(await problem('{\n  // the shop\n  "reportingCurrency": "EUR"\n}')).toMatch(/\(line 2, column 3: "\/\/ the shop"\); JSON allows no comments \(a \.yaml config does\)$/);
    expect(await problem('{"reportingCurrency": "EUR" "reportingTimezone": "UTC"}')).toMatch(/\(line 1, column 29: .*\)$/);
    // An unexpected token, for which JSON.parse gives no position: a value without its quotes, a word cut short, a doubled comma.
    expect(await problem('{\n  "reportingTimezone": "UTC",\n  "reportingCurrency": EUR\n}')).toMatch(/\(line 3, column 24: "\\"reportingCurrency\\": EUR"\)$/);
    expect(await problem('{"clv": {"enabled": tru}}')).toMatch(/\(line 1, column 21: .*\)$/);
    expect(await problem('{"schedules": [{"cron": "0 3 * * *"},, {"cron": "0 4 * * *"}]}')).toMatch(/\(line 1, column 38: .*\)$/);
    // JSON itself has no such place.
    expect(jsonErrorOffset(JSON.stringify({ a: [1, -2.5e3, true, null, 'x\n"é'], b: {} }, null, 2))).toBeUndefined();
    expect(jsonErrorOffset('{"a": 1} x')).toBe(9);
    // Node 22 and later put a line and column of their own after the position (Node 20 does not):
    // said once, by verite, with the line's text.
    expect(withoutJsonPlace('Expected double-quoted property name in JSON at position 41 (line 3 column 1)')).toBe('Expected double-quoted property name in JSON at position 41');
    expect(withoutJsonPlace('Unexpected non-whitespace character after JSON at position 9 (line 1 column 10)')).toBe('Unexpected non-whitespace character after JSON at position 9');
    expect(withoutJsonPlace('Expected double-quoted property name in JSON at position 12')).toBe('Expected double-quoted property name in JSON at position 12');
  });

  it('refuses a JSON key written twice, which JSON.parse would drop without a word, saying where', async () => {
    const problem = (text: string) => loadConfig({ cwd: dir({ 'verite.config.json': text }), env: {} }).then(() => '', (e: ConfigError) => e.problems);
    // Two "shopify" entries (the first, with the token variable, would be lost) and two reportingCurrency.
    const text = '{\n  "reportingCurrency": "EUR",\n  "sources": {\n    "shopify": { "shop": "a.myshopify.com" },\n    "shopify": { "shop": "b.myshopify.com" }\n  },\n  "reportingCurrency": "USD"\n}\n';
    const problems = await problem(text);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/verite\.config\.json: "sources\.shopify" is written twice \(again at line 5, column 5\): JSON keeps only the last one and drops the first; merge them into one$/);
    expect(problems[1]).toMatch(/verite\.config\.json: "reportingCurrency" is written twice \(again at line 7, column 3\)/);
    // The same key in two objects, in a string, or escaped differently in two objects is no duplicate.
    expect(await problem('{"reports": [{"kind": "weekly", "cron": "0 7 * * 1"}, {"kind": "monthly", "cron": "0 7 1 * *"}], "reportsDir": "\\"reportsDir\\""}')).toBe('');
    // Written with an escape, still the same key.
    expect((await problem('{"churnAfterDays": 90, "churn\\u0041fterDays": 120}'))[0]).toMatch(/"churnAfterDays" is written twice \(again at line 1, column 24\)/);
  });

  it('names the IDs people mistake for a GA4 property or a Google Ads customer, and where the right one is', async () => {
    const ga4 = (propertyIds: string[]) => loaded({ sources: { ga4: { propertyIds } } }, (c) => c.sources.ga4?.propertyIds);
    expect(await ga4(['properties/123456789', ' 987654321 '])).toEqual(['123456789', '987654321']);
    expect(await ga4(['G-ABC123XYZ'])).toBe(
      'sources.ga4.propertyIds.0: G-ABC123XYZ is a web stream\'s measurement ID, not the property\'s ID: expected a GA4 property id such as 123456789 (GA4 Admin → Property details → Property ID)',
    );
    expect(await ga4(['UA-12345-1'])).toMatch(/UA-12345-1 is a Universal Analytics ID \(Google shut Universal Analytics down in 2024\), not a GA4 property's ID/);
    const ads = (customerIds: string[]) => loaded({ sources: { google_ads: { customerIds } } }, (c) => c.sources.google_ads?.customerIds);
    expect(await ads(['123-456-7890'])).toEqual(['1234567890']);
    expect(await ads(['AW-987654321'])).toBe(
      'sources.google_ads.customerIds.0: AW-987654321 is a conversion tracking ID (the Google tag\'s), not a customer id: expected a Google Ads customer id such as 123-456-7890 (the ten digits at the top of the Google Ads interface)',
    );
    expect(await ads(['12345'])).toMatch(/^sources\.google_ads\.customerIds\.0: expected a Google Ads customer id such as 123-456-7890/);
  });

  it('reads a secret from the file NAME_FILE names when NAME is not set, as containers are given secrets', () => {
    const folder = dir({ 'stripe_key': '  rk_test_' + 'fromfile0123\n', 'empty': '\n', 'db_url': 'postgres://verite:pw@db.internal:5432/shop\n' });
    const read = (env: NodeJS.ProcessEnv) => readSecret('STRIPE_KEY', 'stripe: STRIPE_KEY', env);
    expect(read({ STRIPE_KEY_FILE: join(folder, 'stripe_key') })).toBe('rk_test_' + 'fromfile0123');
    // The variable itself wins over its file.
    expect(read({ STRIPE_KEY: 'rk_test_' + 'fromenv0123', STRIPE_KEY_FILE: join(folder, 'stripe_key') })).toBe('rk_test_' + 'fromenv0123');
    expect(() => read({ STRIPE_KEY_FILE: join(folder, 'missing') })).toThrow(`stripe: STRIPE_KEY: STRIPE_KEY_FILE names ${join(folder, 'missing')}, and there is no such file`);
    expect(() => read({ STRIPE_KEY_FILE: folder })).toThrow(`STRIPE_KEY_FILE names ${folder}, and it is a folder`);
    expect(() => read({ STRIPE_KEY_FILE: join(folder, 'empty') })).toThrow(`stripe: STRIPE_KEY: the file ${join(folder, 'empty')} (STRIPE_KEY_FILE) is set but empty`);
    expect(() => read({})).toThrow('stripe: STRIPE_KEY: the environment variable STRIPE_KEY is not set (nor STRIPE_KEY_FILE, naming a file that holds it)');
    expect(databaseUrlFromEnv({ DATABASE_URL_FILE: join(folder, 'db_url') })).toBe('postgres://verite:pw@db.internal:5432/shop');
    expect(databaseUrlFromEnv({})).toBeUndefined();
  });

  it('refuses a start date the calendar does not have, which JavaScript would read as a day of the next month', async () => {
    const startOf = (startDate: string) => loaded({ sources: { fx: { ecb: true, startDate } } }, (c) => c.sources.fx?.startDate);
    expect(await startOf('2024-02-29')).toBe('2024-02-29');
    expect(await startOf('2024-02-30')).toBe('sources.fx.startDate: 2024-02-30 is no day of the calendar');
    expect(await startOf('2023-02-29')).toBe('sources.fx.startDate: 2023-02-29 is no day of the calendar');
    expect(await startOf('2024-13-01')).toBe('sources.fx.startDate: 2024-13-01 is no day of the calendar');
    expect(await startOf('1/3/2024')).toBe('sources.fx.startDate: expected a date as YYYY-MM-DD');
  });

  it('lists a VERITE_LOG_LEVEL that is no level with the other problems, and takes warning, or empty, as the logger does', async () => {
    const cwd = dir({ 'verite.config.json': JSON.stringify({ reportingCurrency: 'EUO' }) });
    const error = (await loadConfig({ cwd, env: { VERITE_LOG_LEVEL: 'verbose' } }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toHaveLength(2);
    expect(error.problems[0]).toBe('VERITE_LOG_LEVEL: expected trace, debug, info, warn, error, fatal or silent, got "verbose" (warning, err and information are read as warn, error and info)');
    expect(error.problems[1]).toMatch(/^reportingCurrency: EUO is not the ISO 4217 code/);
    for (const level of ['warning', '', 'DEBUG']) {
      const { config } = await loadConfig({ cwd: dir({}), env: { VERITE_LOG_LEVEL: level } });
      expect(config.reportingCurrency, level).toBe('USD');
    }
  });

  it('refuses a date pattern in another tool\'s tokens, saying the pattern it means', async () => {
    const patternOf = (dateFormat: string) => loaded({ sources: { shipments: { path: 'exports', dateFormat } } }, (c) => c.sources.shipments?.dateFormat);
    expect(await patternOf('DD/MM/YYYY HH:mm')).toBe('DD/MM/YYYY HH:mm');
    const problem = (meant: string) => `sources.shipments.dateFormat: expected a date pattern with YYYY, MM and DD, e.g. DD/MM/YYYY HH:mm (did you mean "${meant}"?)`;
    // strftime (Python, a spreadsheet's macro), Java and .NET, and a spreadsheet's own lower case.
    expect(await patternOf('%d/%m/%Y %H:%M')).toBe(problem('DD/MM/YYYY HH:mm'));
    expect(await patternOf('%-d.%-m.%Y')).toBe(problem('D.M.YYYY'));
    expect(await patternOf('dd/MM/yyyy HH:mm:ss')).toBe(problem('DD/MM/YYYY HH:mm:ss'));
    expect(await patternOf('dd/mm/yyyy hh:mm a')).toBe(problem('DD/MM/YYYY hh:mm a'));
    expect(await patternOf('when')).toBe('sources.shipments.dateFormat: expected a date pattern with YYYY, MM and DD, e.g. DD/MM/YYYY HH:mm');
  });

  it('refuses a date pattern with letters that are no token (DD/MM/YYY), a field written twice or a [ not closed, naming the close valid pattern', async () => {
    const costsPattern = (dateFormat: string) => loaded({ sources: { costs: { path: 'costs', dateFormat } } }, (c) => c.sources.costs?.dateFormat);
    const shipmentsPattern = (dateFormat: string) => loaded({ sources: { shipments: { path: 'exports', dateFormat } } }, (c) => c.sources.shipments?.dateFormat);
    const tokens = '(the tokens: YYYY YY MMM MM M DD D HH H hh h mm ss SSS A a Z; other letters go in [brackets])';
    // It passed (YY, M and D are in it), then every row was quarantined with "expected DD/MM/YYY":
    // the parser read YY and looked for a letter Y after it.
    expect(await costsPattern('DD/MM/YYY')).toBe(`sources.costs.dateFormat: "YYY" is not a token ${tokens} (did you mean "DD/MM/YYYY"?)`);
    expect(await costsPattern('DD.MM.YYYYY')).toBe(`sources.costs.dateFormat: "YYYYY" is not a token ${tokens} (did you mean "DD.MM.YYYY"?)`);
    expect(await costsPattern('DD/MM/YYYY DD')).toBe('sources.costs.dateFormat: the day is written twice (DD and DD)');
    expect(await shipmentsPattern('D MMMM YYYY')).toBe(`sources.shipments.dateFormat: "MMMM" is not a token ${tokens} (did you mean "D MMM YYYY"?)`);
    // A letter meant as text goes in brackets, as docs/sources/shipments.md writes it; ISO's lone T is read as written.
    expect(await shipmentsPattern('DD/MM/YYYY o HH:mm')).toBe(`sources.shipments.dateFormat: "o" is not a token ${tokens} (did you mean "DD/MM/YYYY [o] HH:mm"?)`);
    expect(await shipmentsPattern('YYYY-MM-DDTHH:mm')).toBe('YYYY-MM-DDTHH:mm');
    expect(await shipmentsPattern('DD/MM/YYYY HH:mm:ss.SSSSSS')).toBe(`sources.shipments.dateFormat: "SSSSSS" is not a token ${tokens} (did you mean "DD/MM/YYYY HH:mm:ss.SSS"?)`);
    expect(await shipmentsPattern('DD/MM/YYYY hh:mm tt')).toBe(`sources.shipments.dateFormat: "tt" is not a token ${tokens} (did you mean "DD/MM/YYYY hh:mm A"?)`);
    expect(await shipmentsPattern('DD/MM/YYYY [at HH:mm')).toBe('sources.shipments.dateFormat: a [ is not closed');
    // A year, a month and a day missing: the message of another tool's tokens, with the pattern meant.
    expect(await costsPattern('D/M/Y')).toBe('sources.costs.dateFormat: expected a date pattern with YYYY, MM and DD, e.g. DD/MM/YYYY (did you mean "D/M/YYYY"?)');
    for (const good of ['DD/MM/YYYY', 'DD.MM.YY', 'D MMM YYYY', 'MM/DD/YYYY h:mm A', 'YYYY-MM-DD[T]HH:mm:ssZ', 'YYYYMMDD', 'DD/MM/YYYY HH:mm:ss.SSS']) {
      expect(await shipmentsPattern(good)).toBe(good);
      expect(await costsPattern(good)).toBe(good);
    }
  });

  it('takes a file source\'s sheet by name or number from 1, and its decimal mark as "." or ","', async () => {
    const costs = (entry: Record<string, unknown>) => loaded({ sources: { costs: { path: 'costs', ...entry } } }, (c) => JSON.stringify([c.sources.costs?.sheet, c.sources.costs?.decimalMark]));
    expect(await costs({ sheet: ' Costs ', decimalMark: ',' })).toBe('["Costs",","]');
    expect(await costs({ sheet: 2 })).toBe('[2,null]');
    expect(await costs({ sheet: 0 })).toBe('sources.costs.sheet: expected a sheet number from 1');
    expect(await costs({ sheet: '' })).toBe('sources.costs.sheet: expected a sheet name or number');
    expect(await costs({ decimalMark: ';' })).toBe('sources.costs.decimalMark: expected "." or ","');
  });

  it('refuses a reporting currency no country uses, suggesting the codes close to it', async () => {
    const currencyOf = (reportingCurrency: string) => loaded({ reportingCurrency }, (c) => c.reportingCurrency);
    expect(await currencyOf(' eur ')).toBe('EUR');
    expect(await currencyOf('CHF')).toBe('CHF');
    expect(await currencyOf('EUO')).toMatch(/^reportingCurrency: EUO is not the ISO 4217 code of a currency in use \(did you mean EUR\b/);
    expect(await currencyOf('XYZ')).toMatch(/XYZ is not the ISO 4217 code of a currency in use/);
  });

  it('refuses a time-zone abbreviation or offset, which PostgreSQL and Node would read an hour apart in summer, naming the region meant', async () => {
    const zoneOf = (reportingTimezone: string) => loaded({ reportingTimezone }, (c) => c.reportingTimezone);
    // Regions, UTC, and a name given with stray blanks are taken.
    expect(await zoneOf('Europe/Paris')).toBe('Europe/Paris');
    expect(await zoneOf(' America/New_York ')).toBe('America/New_York');
    expect(await zoneOf('UTC')).toBe('UTC');
    expect(await zoneOf('Etc/GMT+5')).toBe('Etc/GMT+5');
    // In July PostgreSQL reads CET as UTC+1 and PST as UTC-8; Node reads them as Brussels (UTC+2) and Los Angeles (UTC-7).
    expect(await zoneOf('CET')).toMatch(/^reportingTimezone: "CET" is an abbreviation, not a region: .* e\.g\. Europe\/Paris/);
    expect(await zoneOf('PST')).toMatch(/"PST" is an abbreviation.* e\.g\. America\/Los_Angeles/);
    expect(await zoneOf('est')).toMatch(/"est" is an abbreviation.* e\.g\. America\/New_York/);
    expect(await zoneOf('UTC+1')).toMatch(/"UTC\+1" is an offset, not a region/);
    expect(await zoneOf('+02:00')).toMatch(/"\+02:00" is an offset, not a region/);
    expect(await zoneOf('Japan')).toMatch(/"Japan" is an old alias: name the region, Asia\/Tokyo/);
    expect(await zoneOf('Mars/Olympus')).toBe('reportingTimezone: not an IANA time zone (e.g. Europe/Paris)');
    // A misspelt region is named.
    expect(await zoneOf('Europe/Pariss')).toBe('reportingTimezone: not an IANA time zone (did you mean Europe/Paris?)');
    expect(await zoneOf('America/NewYork')).toBe('reportingTimezone: not an IANA time zone (did you mean America/New_York?)');
  });

  it("takes the shop's domain from what a user pastes: its admin's URL, the newer admin URL, the handle, capitals", async () => {
    const shopOf = (shop: string) => loaded({ sources: { shopify: { shop } } }, (c) => c.sources.shopify?.shop);
    for (const pasted of ['my-shop.myshopify.com', 'My-Shop.MyShopify.com', ' https://my-shop.myshopify.com/admin/orders?x=1 ', 'https://admin.shopify.com/store/my-shop/orders', 'my-shop', 'my-shop.myshopify.com/']) {
      expect(await shopOf(pasted), pasted).toBe('my-shop.myshopify.com');
    }
    // The shop's own domain is not where the Admin API answers.
    expect(await shopOf('www.my-shop.com')).toBe(
      "sources.shopify.shop: expected the shop's myshopify.com domain, e.g. my-shop.myshopify.com (the Admin API answers there, not on the shop's own domain)",
    );
  });

  it('reads a file that starts with a byte-order mark, as some editors save UTF-8', async () => {
    for (const [name, text] of [
      ['verite.config.json', '{"reportingTimezone": "Europe/Paris"}'],
      ['verite.config.yaml', 'reportingTimezone: Europe/Paris\n'],
    ]) {
      const cwd = dir({ [name!]: `\uFEFF${text}` });
      expect((await loadConfig({ cwd, env: {} })).config.reportingTimezone, name).toBe('Europe/Paris');
    }
  });

  it('tells a misspelt key the keys it is close to, at every depth', async () => {
    const cwd = dir({
      'verite.config.json': JSON.stringify({
        reportingTimeZone: 'UTC',
        colour: 'blue',
        sources: { shopfy: {}, stripe: { secretKeyEnvv: 'X' } },
        reports: [{ cron: '0 7 * * 1', kind: 'weekly', to: { emial: {} } }],
      }),
    });
    const error = await loadConfig({ cwd, env: {} }).then(() => null, (e: ConfigError) => e);
    expect(error?.problems.sort()).toEqual([
      '(top level): unrecognized keys: "reportingTimeZone" (did you mean reportingTimezone?), "colour"',
      'reports.0.to: unrecognized key: "emial" (did you mean email?)',
      'sources.stripe: unrecognized key: "secretKeyEnvv" (did you mean secretKeyEnv?)',
      'sources: unrecognized key: "shopfy" (did you mean shopify?)',
    ]);
  });

  it("refuses a secret pasted where the name of its environment variable goes, without repeating it", async () => {
    // Built here, so that no key-shaped text is kept in the repository.
    const key = ['sk', 'live', '51Hx9aBcDeFgHiJkLmNoPq'].join('_');
    const smtp = `smtps://mailer:${'hunter2'.repeat(2)}@smtp.example.com:465`;
    const cwd = dir({
      'verite.config.json': JSON.stringify({
        sources: { stripe: { secretKeyEnv: key } },
        reports: [{ cron: '0 7 * * 1', kind: 'weekly', to: { email: { smtpUrlEnv: smtp, from: 'verite@example.com', to: ['owner@example.com'] } } }],
      }),
    });
    const error = await loadConfig({ cwd, env: {} }).then(() => null, (e: Error) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const said = (error as ConfigError).message;
    expect(said).toContain('sources.stripe.secretKeyEnv: holds what looks like the secret itself, not the name of an environment variable: put the secret in an environment variable');
    expect(said).toContain('reports.0.to.email.smtpUrlEnv: holds what looks like the secret itself');
    // Each said once: the name's own rule is not added to it.
    expect(said).not.toContain('expected an environment variable name');
    expect(said).not.toContain(key);
    expect(said).not.toContain('hunter2');
    // A name that merely has letters, digits and underscores is a name.
    const named = dir({ 'verite.config.json': JSON.stringify({ sources: { stripe: { secretKeyEnv: 'SHOP_LIVE_STRIPE_KEY_2' } } }) });
    expect((await loadConfig({ cwd: named, env: {} })).config.sources.stripe?.secretKeyEnv).toBe('SHOP_LIVE_STRIPE_KEY_2');
  });

  it('takes freshness limits per stream, naming a stream that does not exist', async () => {
    const good = dir({ 'verite.config.json': JSON.stringify({ streamFreshnessHours: { 'fx.rates': 120, 'shopify.orders': 6 } }) });
    expect((await loadConfig({ cwd: good, env: {} })).config.streamFreshnessHours).toEqual({ 'fx.rates': 120, 'shopify.orders': 6 });
    expect((await loadConfig({ cwd: dir({}), env: {} })).config.streamFreshnessHours).toEqual({});
    const bad = dir({ 'verite.config.json': JSON.stringify({ streamFreshnessHours: { 'fx.rate': 120, 'shopify.orders': -1 } }) });
    const error = (await loadConfig({ cwd: bad, env: {} }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toHaveLength(2);
    expect(error.problems.join('\n')).toMatch(/^streamFreshnessHours\.fx\.rate: no stream fx\.rate \(expected source\.stream: shopify\.orders, .*fx\.rates\)$/m);
    expect(error.problems.join('\n')).toMatch(/streamFreshnessHours\.shopify\.orders: .*>0/);
  });

  it('names a config file that does not exist', async () => {
    await expect(loadConfig({ cwd: dir({}), file: 'nope.json', env: {} })).rejects.toThrow(/nope\.json does not exist/);
  });
});
