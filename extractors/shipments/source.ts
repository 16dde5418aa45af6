import type { ShipmentsConfig } from '../../config/schema.ts';
import { catalog } from '../../catalog/catalog.ts';
import type { Page, ReadContext, Source, Stream } from '../types.ts';
import { mapShipmentRow, shipmentMapper, shipmentSheetLacks } from './column-mapping.ts';
import { readEasyPost } from './easypost-read.ts';
import { readFileDrop } from './file-drop.ts';
import { parcelsOfOneFile } from './parcels.ts';

async function* readShipments(ctx: ReadContext<ShipmentsConfig>): AsyncGenerator<Page> {
  if (ctx.config.path !== undefined) {
    // Files are not dated the way a backfill's range is; a new file lands on the next run.
    if (ctx.window) ctx.log.info('a backfill reads the carrier API only; new export files land on the next run');
    else yield* readFileDrop(ctx);
  }
  if (ctx.config.carrierApi) yield* readEasyPost(ctx);
}

/**
 * The one shipments stream: first the export files of the drop not landed before, then the
 * carrier API's trackers updated since the cursor. Either part may be left unconfigured; the
 * stream's state is the carrier API's cursor (the files are tracked in `ops.landed_files`).
 */
export const shipmentsStream: Stream<ShipmentsConfig> = {
  ...catalog.shipments.shipments,
  read: readShipments,
  mapCsvRow: (row, config, sheet) => mapShipmentRow(row, config, sheet),
  mapJsonRecord: (row, config, sheet) => mapShipmentRow(row, config, sheet),
  amountsOf: (row, config) => shipmentMapper(config).amountsOf(row),
  amountColumns: (config) => shipmentMapper(config).amountColumns,
  sheetLacks: (row, config) => shipmentSheetLacks(row, config),
  fileRowCheck: parcelsOfOneFile,
};

/** Carrier and 3PL shipments: a file drop of CSV/JSONL exports, and EasyPost trackers. */
export const shipmentsSource: Source<ShipmentsConfig> = {
  name: 'shipments',
  streams: [shipmentsStream],
};
