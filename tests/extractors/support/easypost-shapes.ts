/**
 * The shapes of the EasyPost answers the EasyPost stand-in (easypost-server.ts) gives, as
 * EasyPost publishes them. EasyPost publishes no OpenAPI document; these come, written out by
 * hand (no vendor file is copied), from:
 * - EasyPost's example responses, github.com/EasyPost/examples: `official/responses/trackers/tracker_retrieve.json`
 *   (commit e76d293a362dc4dbaf2af8429a62f6ea4edf48e6), `official/responses/trackers/tracker_all.json`
 *   and `official/responses/shipments/shipment_all.json` (commit e298c040f2361e5e6d9f7d800fd20e500ba3865c):
 *   the Tracker's fields (TrackingDetail, TrackingLocation, CarrierDetail), and the list
 *   envelopes `{trackers | shipments, has_more}`;
 * - `official/responses/shipments/shipment_return.json` (commit e298c040f2361e5e6d9f7d800fd20e500ba3865c)
 *   and `official/docs/node/v5/returns/create.js` (commit 112a6d19063aa98934231fc436067d5016da2015):
 *   a return label is a Shipment bought with `is_return: true`, and every Shipment says whether it
 *   is one (`shipment_all.json` has `is_return: false`); the listed and retrieved Trackers
 *   (`tracker_all.json`, `tracker_retrieve.json`) have no such field;
 * - the Tracker reference (docs.easypost.com/docs/trackers): `status` is one of unknown,
 *   pre_transit, in_transit, out_for_delivery, delivered, available_for_pickup,
 *   return_to_sender, failure, cancelled, error;
 * - the Errors reference (docs.easypost.com/docs/errors): `{error: {code, message, errors}}`.
 *
 * A Tracker is checked whole (nothing may be missing or made up). A Shipment is large (addresses,
 * parcel, rates, label…): the stand-in's carry only the fields the source reads, each checked for
 * its published type.
 */
import { z } from 'zod';

const nullableString = z.string().nullable();
const timestamp = z.iso.datetime();

const trackingLocation = z.object({ object: z.literal('TrackingLocation'), city: nullableString, state: nullableString, country: nullableString, zip: nullableString }).strict();

export const TRACKER_STATUSES = ['unknown', 'pre_transit', 'in_transit', 'out_for_delivery', 'delivered', 'available_for_pickup', 'return_to_sender', 'failure', 'cancelled', 'error'] as const;

const trackingDetail = z
  .object({
    object: z.literal('TrackingDetail'),
    message: nullableString,
    description: nullableString,
    status: z.enum(TRACKER_STATUSES),
    status_detail: nullableString,
    datetime: timestamp,
    source: nullableString,
    carrier_code: nullableString,
    tracking_location: trackingLocation.nullable(),
  })
  .strict();

const carrierDetail = z
  .object({
    object: z.literal('CarrierDetail'),
    service: nullableString,
    container_type: nullableString,
    est_delivery_date_local: nullableString,
    est_delivery_time_local: nullableString,
    origin_location: nullableString.optional(),
    origin_tracking_location: trackingLocation.nullable().optional(),
    destination_location: nullableString.optional(),
    destination_tracking_location: trackingLocation.nullable().optional(),
    guaranteed_delivery_date: nullableString.optional(),
    alternate_identifier: nullableString.optional(),
    initial_delivery_attempt: nullableString.optional(),
  })
  .strict();

export const trackerShape = z
  .object({
    id: z.string().startsWith('trk_'),
    object: z.literal('Tracker'),
    mode: z.enum(['test', 'production']),
    tracking_code: z.string(),
    status: z.enum(TRACKER_STATUSES),
    status_detail: nullableString,
    created_at: timestamp,
    updated_at: timestamp,
    signed_by: nullableString,
    weight: z.number().nullable(),
    est_delivery_date: timestamp.nullable(),
    shipment_id: nullableString,
    carrier: z.string(),
    tracking_details: z.array(trackingDetail),
    fees: z.array(z.record(z.string(), z.unknown())),
    carrier_detail: carrierDetail.nullable(),
    public_url: z.string(),
  })
  .strict();

/** The fields of a Shipment the source reads, of their published types (a real one has many more). */
export const shipmentShape = z
  .object({
    id: z.string().startsWith('shp_'),
    object: z.literal('Shipment'),
    created_at: timestamp,
    reference: nullableString,
    is_return: z.boolean(),
    options: z.record(z.string(), z.unknown()),
    selected_rate: z.object({ rate: z.string(), currency: z.string(), carrier: z.string().optional(), service: z.string().optional() }).passthrough().nullable(),
  })
  .passthrough();

export const trackerListShape = z.object({ trackers: z.array(trackerShape), has_more: z.boolean() }).strict();
export const shipmentListShape = z.object({ shipments: z.array(shipmentShape), has_more: z.boolean() }).strict();

export const easyPostErrorShape = z
  .object({ error: z.object({ code: z.string(), message: z.string(), errors: z.array(z.union([z.string(), z.record(z.string(), z.unknown())])) }).strict() })
  .strict();
