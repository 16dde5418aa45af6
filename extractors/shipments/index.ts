import { registerSource } from '../registry.ts';
import { shipmentsSource } from './source.ts';

registerSource(shipmentsSource);

export { shipmentsSource, shipmentsStream } from './source.ts';
export { mapShipmentRow, parseAmount, type MappingConfig } from './column-mapping.ts';
export { compileDateParser } from './date-parse.ts';
export { listDropFiles, globToRegExp } from './drop-files.ts';
export { readFileDrop } from './file-drop.ts';
export { readEasyPost, listWindows, DEFAULT_CARRIER_LOOKBACK_DAYS, type CarrierState } from './easypost-read.ts';
export { easyPostClient, EASYPOST_API, type EasyPostClient, type EasyPostTracker } from './easypost-client.ts';
export { trackerToShipment } from './easypost-map.ts';
