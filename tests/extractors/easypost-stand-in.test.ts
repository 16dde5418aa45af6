import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { easyPostErrorShape, shipmentListShape, shipmentShape, trackerListShape, trackerShape } from './support/easypost-shapes.ts';
import { easyPostTracker, startFakeEasyPost, trackingDetail, type FakeEasyPost } from './support/easypost-server.ts';

/**
 * The EasyPost stand-in answers with EasyPost's published shapes (issue 11): every answer the
 * shipments source reads is checked against the shapes derived from EasyPost's example
 * responses and API reference (support/easypost-shapes.ts says which).
 */
const API_KEY = 'EZAKshapes0123456789';
let server: FakeEasyPost;

const get = async (path: string, key = API_KEY): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` } });
  return { status: res.status, body: await res.json() };
};

const problems = (shape: z.ZodType, value: unknown): string[] => {
  const result = shape.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

beforeAll(async () => {
  server = await startFakeEasyPost(API_KEY);
  server.trackers.push(
    easyPostTracker({
      id: 'trk_1', tracking_code: 'EZ1', status: 'in_transit', shipment_id: 'shp_1', created_at: '2024-05-01T00:00:00Z', updated_at: '2024-05-02T00:00:00Z',
      tracking_details: [trackingDetail('pre_transit', '2024-05-01T00:00:00Z'), trackingDetail('in_transit', '2024-05-01T03:00:00Z')],
      carrier_detail: { object: 'CarrierDetail', service: 'Priority', container_type: null, est_delivery_date_local: null, est_delivery_time_local: null },
    }),
  );
  server.shipments.push({
    id: 'shp_1', object: 'Shipment', created_at: '2024-04-30T23:50:00Z', reference: '#5000', options: {},
    selected_rate: { rate: '5.00', currency: 'USD', carrier: 'USPS', service: 'Priority' },
  });
});
afterAll(async () => server?.close());

describe('the EasyPost stand-in against the published shapes', () => {
  it('answers trackers and shipments, listed and by id, as EasyPost does', async () => {
    const window = 'start_datetime=2024-04-01T00:00:00Z&end_datetime=2024-05-31T00:00:00Z&page_size=100';
    const answers: [string, z.ZodType][] = [
      [`/trackers?${window}`, trackerListShape],
      ['/trackers/trk_1', trackerShape],
      [`/shipments?${window}`, shipmentListShape],
      ['/shipments/shp_1', shipmentShape],
    ];
    for (const [path, shape] of answers) {
      const { status, body } = await get(path);
      expect(status, path).toBe(200);
      expect(problems(shape, body), path).toEqual([]);
    }
    expect(((await get(`/trackers?${window}`)).body as { trackers: unknown[] }).trackers).toHaveLength(1);
  });

  it("says on every Shipment whether it is a return label, as EasyPost does, and on no Tracker", async () => {
    server.shipments.push({
      id: 'shp_2', object: 'Shipment', created_at: '2024-05-01T00:00:00Z', reference: '#5000', options: {}, is_return: true,
      selected_rate: { rate: '4.00', currency: 'USD', carrier: 'USPS', service: 'Priority' },
    });
    try {
      expect((await get('/shipments/shp_1')).body).toMatchObject({ is_return: false });
      expect((await get('/shipments/shp_2')).body).toMatchObject({ is_return: true });
      const listed = (await get('/shipments?start_datetime=2024-04-01T00:00:00Z&end_datetime=2024-05-31T00:00:00Z')).body as { shipments: { id: string; is_return: boolean }[] };
      expect(listed.shipments.map((s) => [s.id, s.is_return])).toEqual([['shp_2', true], ['shp_1', false]]);
      expect((await get('/trackers/trk_1')).body).not.toHaveProperty('is_return');
      const { is_return: _, ...withoutIt } = (await get('/shipments/shp_1')).body as Record<string, unknown>;
      expect(problems(shipmentShape, withoutIt)).toEqual(['is_return: Invalid input: expected boolean, received undefined']);
    } finally {
      server.shipments.pop();
    }
  });

  it('answers errors in EasyPost\'s error envelope', async () => {
    for (const [path, key, status] of [['/trackers/trk_gone', API_KEY, 404], ['/trackers', 'EZAKwrong', 401]] as const) {
      const answer = await get(path, key);
      expect(answer.status).toBe(status);
      expect(problems(easyPostErrorShape, answer.body)).toEqual([]);
    }
    server.script({ status: 500 });
    expect(problems(easyPostErrorShape, (await get('/trackers')).body)).toEqual([]);
  });

  it('finds what a hand-made tracker gets wrong (the check can fail)', () => {
    const tracker = easyPostTracker({ id: 'trk_2', tracking_code: 'EZ2', status: 'delivered', created_at: '2024-05-01T00:00:00Z' });
    expect(problems(trackerShape, { ...tracker, status: 'returned' })).toHaveLength(1);
    expect(problems(trackerShape, { ...tracker, is_return: true })).toHaveLength(1);
  });
});
