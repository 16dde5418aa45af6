import type { ShipmentsConfig } from '../../config/schema.ts';
import { errorMessage } from '../../lib/errors.ts';
import { callProblem, missingSecrets, ok, problem, statusOf, type CheckContext, type CheckFinding } from '../check.ts';
import { missingColumns, shipmentSheetLacks } from './column-mapping.ts';
import { listDropFiles, newestFileFinding } from './drop-files.ts';
import { makeClient } from './easypost-read.ts';

const DAY_MS = 86_400_000;

/**
 * Checks the `shipments` entry: the file drop's `path` exists (and how many export files it
 * holds); for `carrierApi`, the key's variable is set and EasyPost accepts it, with a one-item
 * list of the last month's trackers through the extractor's client (retries, rate bound).
 */
export async function checkShipments(ctx: CheckContext<ShipmentsConfig>): Promise<CheckFinding[]> {
  const config = ctx.config;
  const findings: CheckFinding[] = [];
  if (config.path !== undefined) {
    try {
      const { files, ignored } = await listDropFiles(config.path);
      findings.push(ok(`file drop ${config.path}: ${files.length} export file${files.length === 1 ? '' : 's'}${ignored.length ? ` (${ignored.length} other file${ignored.length === 1 ? '' : 's'} left out)` : ''}`));
      const newest = await newestFileFinding(files, (row) => missingColumns(row, config), { source: 'shipments', sheet: config.sheet, sheetLacks: (row) => shipmentSheetLacks(row, config) });
      if (newest) findings.push(newest);
    } catch (error) {
      findings.push(problem(`the file drop ${errorMessage(error)}: create it, or correct sources.shipments.path`));
    }
  }
  const api = config.carrierApi;
  if (!api) return findings;
  const missing = missingSecrets(ctx, [{ env: api.apiKeyEnv, key: 'carrierApi.apiKeyEnv', holds: 'the EasyPost production API key (EZAK…)' }]);
  if (missing.length) return [...findings, ...missing];
  try {
    await makeClient(ctx).listTrackers({ start: new Date(ctx.now.getTime() - 30 * DAY_MS).toISOString(), end: ctx.now.toISOString(), pageSize: 1 });
    findings.push(ok('EasyPost accepts the API key'));
  } catch (error) {
    const status = statusOf(error);
    if (status === 401 || status === 403) findings.push(problem(`EasyPost refused the key in ${api.apiKeyEnv} (HTTP ${status}): put the production API key (EZAK…, Account settings → API keys) there`));
    else findings.push(callProblem('listing EasyPost trackers', error));
  }
  return findings;
}
