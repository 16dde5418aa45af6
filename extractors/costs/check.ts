import type { CostsConfig } from '../../config/schema.ts';
import { errorMessage } from '../../lib/errors.ts';
import { ok, problem, type CheckContext, type CheckFinding } from '../check.ts';
import { listDropFiles, newestFileFinding } from '../shipments/drop-files.ts';
import { costSheetLacks, missingCostColumns } from './cost-mapping.ts';

/** Checks the `costs` entry: its file drop exists, and how many cost files it holds. */
export async function checkCosts(ctx: CheckContext<CostsConfig>): Promise<CheckFinding[]> {
  try {
    const { files, ignored } = await listDropFiles(ctx.config.path);
    const found = [ok(`cost files ${ctx.config.path}: ${files.length} file${files.length === 1 ? '' : 's'}${ignored.length ? ` (${ignored.length} other file${ignored.length === 1 ? '' : 's'} left out)` : ''}`)];
    const newest = await newestFileFinding(files, (row) => missingCostColumns(row, ctx.config), { source: 'costs', sheet: ctx.config.sheet, sheetLacks: (row) => costSheetLacks(row, ctx.config) });
    return newest ? [...found, newest] : found;
  } catch (error) {
    return [problem(`the cost files ${errorMessage(error)}: create them, or correct sources.costs.path`)];
  }
}
