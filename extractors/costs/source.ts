import type { CostsConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import { readDropFiles } from '../shipments/file-drop.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';
import { costMapper, costSheetLacks, mapCostRow, missingCostColumns } from './cost-mapping.ts';

async function* readUnitCosts(ctx: ReadContext<CostsConfig>): AsyncGenerator<Page> {
  // Files are not dated the way a backfill's range is; a new file lands on the next run.
  if (ctx.window) {
    ctx.log.info('a backfill does not read cost files; new files land on the next run');
    return;
  }
  const config = ctx.config;
  yield* readDropFiles(ctx, {
    source: 'costs',
    stream: 'unit_costs',
    path: config.path,
    mapRow: costMapper(config),
    missingColumns: (row) => missingCostColumns(row, config),
    sheetLacks: (row) => costSheetLacks(row, config),
    sheet: config.sheet,
    decimalMark: config.decimalMark,
  });
}

/**
 * Unit costs from a file drop of CSV/JSONL files (a spreadsheet or an ERP export), each file
 * landed once, as the shipments file drop lands its files (`ops.landed_files`); the same rows
 * through `verite import costs unit_costs FILE`.
 */
export const unitCostsStream: Stream<CostsConfig> = {
  ...catalog.costs.unit_costs,
  read: readUnitCosts,
  mapCsvRow: (row, config, sheet) => mapCostRow(row, config, sheet),
  mapJsonRecord: (row, config, sheet) => mapCostRow(row, config, sheet),
  amountsOf: (row, config) => costMapper(config).amountsOf(row),
  amountColumns: (config) => costMapper(config).amountColumns,
  sheetLacks: (row, config) => costSheetLacks(row, config),
};

/** Unit costs kept outside Shopify. */
export const costsSource: Source<CostsConfig> = { name: 'costs', streams: [unitCostsStream] };
