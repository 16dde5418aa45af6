import { catalog } from '../../catalog/catalog.ts';
import type { FileRowCheck } from '../types.ts';

/** Where a row is within its file, from its location: `line 7` (`3pl.csv:7`), `row 7` of a workbook. */
function placeOf(location: string | undefined): string | undefined {
  const m = location === undefined ? null : /\.(\w+):(\d+)(?: \(.*\))?$/.exec(location);
  if (!m) return undefined;
  return `${m[1]!.toLowerCase() === 'xlsx' ? 'row' : 'line'} ${m[2]}`;
}

const hasTrackingNumber = (record: Record<string, unknown>) => {
  const tracking = record.tracking_number;
  return tracking !== null && tracking !== undefined && tracking !== '';
};

/**
 * Two rows of one file with the same order and carrier and no tracking number: each row of an
 * export is one parcel (docs/sources/shipments.md), and those two have the same key (`order|carrier`,
 * the catalogue's key without a tracking number), so the second would replace the first in raw
 * and one parcel, and its cost, would be lost without a word. The second is refused naming the
 * first; a later file that names the order and carrier again updates the parcel, as before. Rows
 * with a tracking number are not looked at: the same tracking number twice is one parcel (its
 * status lines, say), and the newest row wins.
 */
export function parcelsOfOneFile(): FileRowCheck {
  const first = new Map<string, string | undefined>();
  const keyOf = catalog.shipments.shipments.keyOf;
  return (record, location) => {
    if (hasTrackingNumber(record)) return undefined;
    const key = keyOf(record);
    if (key === undefined) return undefined;
    if (!first.has(key)) {
      first.set(key, location);
      return undefined;
    }
    const here = placeOf(location) ?? 'this row';
    const there = placeOf(first.get(key)) ?? 'an earlier row';
    return (
      `${here} has the same order ${String(record.order_id)} and carrier ${String(record.carrier)} as ${there} and no tracking number: ` +
      'two parcels need a tracking number each to be told apart (docs/sources/shipments.md); the first is landed'
    );
  };
}
