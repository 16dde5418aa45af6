import { isoTimestamp } from '../../catalog/catalog.ts';
import type { EasyPostShipmentSummary, EasyPostTracker, EasyPostTrackingDetail } from './easypost-client.ts';

/** Statuses a scan has once the carrier holds the parcel (`pre_transit` is only a label). */
const CARRIER_HAS_IT = new Set(['in_transit', 'out_for_delivery', 'available_for_pickup', 'delivered', 'return_to_sender', 'failure']);

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A timestamp at midnight UTC, or at midnight with no offset: how EasyPost writes a tracker's
 * `est_delivery_date` when the carrier gives a day and no time (`2024-05-03T00:00:00Z`).
 */
const MIDNIGHT_UTC = /^(\d{4}-\d{2}-\d{2})T00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?$/i;

/**
 * The promised delivery: the carrier's local date when given, else `est_delivery_date`, as a
 * calendar date when it is written at midnight UTC (a day, not an instant: taken as an instant, it
 * would fall on the day before anywhere west of UTC), else as the timestamp it is.
 */
function estimate(tracker: EasyPostTracker): string | null {
  const local = tracker.carrier_detail?.est_delivery_date_local;
  if (local && DATE_ONLY.test(local)) return local;
  const at = typeof tracker.est_delivery_date === 'string' ? tracker.est_delivery_date.trim() : tracker.est_delivery_date;
  const day = typeof at === 'string' ? MIDNIGHT_UTC.exec(at)?.[1] : undefined;
  // Only a day that exists (Date.parse rolls 2024-02-30 over into March); any other is read as a timestamp.
  if (day !== undefined && isoTimestamp(`${day}T00:00:00Z`)?.startsWith(day)) return day;
  return isoTimestamp(at) ?? null;
}

function scans(tracker: EasyPostTracker): { status: string; at: string }[] {
  return (tracker.tracking_details ?? [])
    .map((d: EasyPostTrackingDetail) => ({ status: String(d.status ?? ''), at: isoTimestamp(d.datetime) }))
    .filter((d): d is { status: string; at: string } => d.at !== undefined)
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

/**
 * A Tracker (with its Shipment when the label was bought through EasyPost) as a shipment record
 * of docs/streams.md:
 *
 * - `order_id`: the Shipment's `reference`, else its `options.print_custom_1` (where shops put
 *   the order number on the label); null for a tracker created for a label bought elsewhere.
 * - `shipped_at`: the first scan once the carrier holds the parcel; `delivered_at`: the first
 *   `delivered` scan before any `return_to_sender`; `returned_at`: the first `return_to_sender`
 *   scan. For a return label (the Shipment's `is_return`, or the tracker's when it has one), its
 *   `delivered` scan is the return (it reached the shop) and `delivered_at` stays null.
 * - `estimated_delivery_at`: the carrier's local date when given (a calendar date), else
 *   `est_delivery_date`, a calendar date when written at midnight UTC ({@link estimate}). It is
 *   the carrier's latest estimate: a carrier moves it when the parcel is delayed.
 * - `shipping_cost`, `currency`: the purchased rate.
 *
 * The tracker itself is kept whole under `easypost_tracker`, and the shipment's summary under
 * `easypost_shipment`, so raw keeps what the API sent.
 */
export function trackerToShipment(tracker: EasyPostTracker, shipment: EasyPostShipmentSummary | undefined): Record<string, unknown> {
  const history = scans(tracker);
  const returnedAt = history.find((s) => s.status === 'return_to_sender')?.at;
  const deliveredAt = history.find((s) => s.status === 'delivered' && (returnedAt === undefined || s.at < returnedAt))?.at;
  const isReturn = shipment?.is_return === true || tracker.is_return === true;
  const rate = shipment?.rate !== null && shipment?.rate !== undefined ? Number(shipment.rate) : NaN;
  return {
    order_id: shipment?.reference ?? shipment?.print_custom_1 ?? null,
    tracking_number: tracker.tracking_code ? tracker.tracking_code.replace(/\s+/g, '') : null,
    carrier: tracker.carrier ?? shipment?.carrier ?? null,
    service: tracker.carrier_detail?.service ?? shipment?.service ?? null,
    shipped_at: history.find((s) => CARRIER_HAS_IT.has(s.status))?.at ?? null,
    estimated_delivery_at: estimate(tracker),
    delivered_at: isReturn ? null : (deliveredAt ?? null),
    returned_at: isReturn ? (deliveredAt ?? returnedAt ?? null) : (returnedAt ?? null),
    status: tracker.status ?? null,
    shipping_cost: Number.isFinite(rate) ? rate : null,
    currency: shipment?.currency?.toUpperCase() ?? null,
    updated_at: isoTimestamp(tracker.updated_at) ?? null,
    easypost_tracker: tracker,
    easypost_shipment: shipment ?? null,
  };
}
