import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { FxConfig } from '../../config/schema.ts';
import { fileColumns } from '../../loaders/file-reader.ts';
import { ok, problem, warning, type CheckContext, type CheckFinding } from '../check.ts';
import { unreadableFile } from '../shipments/drop-files.ts';
import { rateFiles } from './index.ts';
import { missingRateFields } from './rate-row.ts';

/**
 * Checks the `fx` entry: a rates file or folder that exists, and/or the ECB's rates. No
 * credentials are involved; the ECB is not called (its rates are public and a run reads them).
 */
export async function checkFx(ctx: CheckContext<FxConfig>): Promise<CheckFinding[]> {
  const config = ctx.config;
  const findings: CheckFinding[] = [];
  if (config.path !== undefined) {
    findings.push(existsSync(config.path) ? ok(`rates from ${config.path}`) : problem(`sources.fx.path ${config.path} does not exist: create it, or correct the path`));
    if (existsSync(config.path)) findings.push(...(await rateFileFindings(config.path)));
  }
  if (config.ecb) findings.push(ok("the ECB's daily euro reference rates"));
  if (config.path === undefined && !config.ecb) findings.push(warning('neither path nor ecb is set: no rates will be read; set "ecb": true, or a rates file in path'));
  return findings;
}

/**
 * Each rates file read as the run will read it: one that lacks a column of the rate (every row
 * would be quarantined), or that the run could not read, is a problem. Rates files are few and
 * small: every one is looked at, its header or first record only.
 */
async function rateFileFindings(path: string): Promise<CheckFinding[]> {
  const found: CheckFinding[] = [];
  for (const file of rateFiles(path)) {
    const name = basename(file);
    let columns: string[] | undefined;
    try {
      columns = await fileColumns(file);
    } catch (error) {
      found.push(unreadableFile(name, error));
      continue;
    }
    const missing = columns ? missingRateFields(columns) : [];
    if (missing.length) {
      found.push(problem(`${name} has no column ${missing.join(', ')} (it has ${columns!.map((c) => JSON.stringify(c)).join(', ')}): a rate needs date, base, quote and rate, in any capitals; every row would be quarantined`));
    }
  }
  return found;
}
