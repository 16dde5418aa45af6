import { existsSync } from 'node:fs';
import type { FxConfig } from '../../config/schema.ts';
import { ok, problem, warning, type CheckContext, type CheckFinding } from '../check.ts';

/**
 * Checks the `fx` entry: a rates file or folder that exists, and/or the ECB's rates. No
 * credentials are involved; the ECB is not called (its rates are public and a run reads them).
 */
export async function checkFx(ctx: CheckContext<FxConfig>): Promise<CheckFinding[]> {
  const config = ctx.config;
  const findings: CheckFinding[] = [];
  if (config.path !== undefined) {
    findings.push(existsSync(config.path) ? ok(`rates from ${config.path}`) : problem(`sources.fx.path ${config.path} does not exist: create it, or correct the path`));
  }
  if (config.ecb) findings.push(ok("the ECB's daily euro reference rates"));
  if (config.path === undefined && !config.ecb) findings.push(warning('neither path nor ecb is set: no rates will be read; set "ecb": true, or a rates file in path'));
  return findings;
}
