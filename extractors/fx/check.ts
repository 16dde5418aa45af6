import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { FxConfig } from '../../config/schema.ts';
import { fileColumns, workbookFit, type SheetChoice } from '../../loaders/file-reader.ts';
import { callProblem, ok, problem, warning, type CheckContext, type CheckFinding } from '../check.ts';
import { ECB_BASE_URL, ecbUrl, type EcbRate } from './ecb.ts';
import { setSheetIn, unreadableFile, wrongSheet } from '../shipments/drop-files.ts';
import { rateFiles, readEcbRates } from './index.ts';
import { missingRateFields } from './rate-row.ts';

/**
 * Checks the `fx` entry: a rates file or folder that exists, and/or the ECB's rates. No
 * credentials are involved; the ECB's latest day (a document of 2 KB) is read, as each source's
 * check makes one cheap call: that it can be reached from here (a firewall, a proxy), and that
 * it publishes the reporting currency, which it may not (it gives some 30).
 */
export async function checkFx(ctx: CheckContext<FxConfig>): Promise<CheckFinding[]> {
  const config = ctx.config;
  const findings: CheckFinding[] = [];
  if (config.path !== undefined) {
    findings.push(existsSync(config.path) ? ok(`rates from ${config.path}`) : problem(`sources.fx.path ${config.path} does not exist: create it, or correct the path`));
    if (existsSync(config.path)) findings.push(...(await rateFileFindings(config.path, config.sheet)));
  }
  if (config.ecb) findings.push(...(await ecbFindings(ctx)));
  if (config.path === undefined && !config.ecb) findings.push(warning('neither path nor ecb is set: no rates will be read; set "ecb": true, or a rates file in path'));
  return findings;
}

/**
 * Each rates file read as the run will read it: one that lacks a column of the rate (every row
 * would be quarantined), or that the run could not read, is a problem. Rates files are few and
 * small: every one is looked at, its header or first record only.
 */
async function rateFileFindings(path: string, sheet: SheetChoice | undefined): Promise<CheckFinding[]> {
  const found: CheckFinding[] = [];
  for (const file of rateFiles(path)) {
    const name = basename(file);
    let columns: string[] | undefined;
    try {
      columns = await fileColumns(file, sheet);
    } catch (error) {
      found.push(unreadableFile(name, error));
      continue;
    }
    const missing = columns ? missingRateFields(columns) : [];
    if (missing.length) {
      const fit = await workbookFit(file, sheet, (row) => missingRateFields(Object.keys(row)));
      const hint = fit?.others.length ? `; ${wrongSheet(fit, setSheetIn('fx'))}` : '';
      found.push(
        problem(
          `${name} has no column ${missing.join(', ')} (it has ${columns!.map((c) => JSON.stringify(c)).join(', ')}): a rate needs date, base, quote and rate, in any capitals; every row would be quarantined${hint}`,
        ),
      );
    }
  }
  return found;
}

/** The ECB's latest reference rates, read as a run reads them: reachable, and holding the reporting currency. */
async function ecbFindings(ctx: CheckContext<FxConfig>): Promise<CheckFinding[]> {
  const url = ecbUrl(ctx.config.ecbUrl ?? ECB_BASE_URL, 'daily');
  let rates: EcbRate[];
  try {
    rates = await readEcbRates(ctx, 'daily', { stream: 'check', attempts: 2 });
  } catch (error) {
    return [callProblem(`reading the ECB's rates (${url})`, error)];
  }
  if (!rates.length) return [problem(`the ECB's rates (${url}) held no rate: the address does not serve the ECB's reference-rate document`)];
  const published = new Set(['EUR', ...rates.map((r) => r.quote)]);
  const latest = rates.at(-1)!.date;
  const found = [ok(`the ECB's daily euro reference rates: ${published.size - 1} currencies against the euro, the latest of ${latest}`)];
  const reporting = ctx.global.reportingCurrency;
  if (!published.has(reporting)) {
    const say = `reportingCurrency ${reporting} is not among the ECB's rates (it publishes ${[...published].sort().join(', ')})`;
    // Amounts already in the reporting currency need no rate: only the others would fail.
    found.push(
      warning(
        ctx.config.path === undefined
          ? `${say}: an amount in any other currency could not be converted, and the run would fail on it; give rates against ${reporting} in a rates file (sources.fx.path)`
          : `${say}: the rates file in sources.fx.path must give every other currency against ${reporting}`,
      ),
    );
  }
  return found;
}
