import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { chargeShape, errorShape, eventShape, listShape, refundShape } from './support/stripe-shapes.ts';
import { startFakeStripe, stripeCharge, stripeRefund, type FakeStripe } from './support/stripe-server.ts';

/**
 * The Stripe stand-in answers with Stripe's published shapes (issue 11): every answer the Stripe
 * source reads is checked against the shapes derived from Stripe's OpenAPI document for the
 * pinned API version (support/stripe-shapes.ts says which document and version).
 */
const SECRET = 'sk_test_shapes0123456789abcd';
let server: FakeStripe;
let base: string;

const get = async (path: string, key = SECRET): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: await res.json() };
};

/** The shape's problems with `value`, listed (empty when it conforms). */
const problems = (shape: z.ZodType, value: unknown): string[] => {
  const result = shape.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

beforeAll(async () => {
  server = await startFakeStripe(SECRET);
  base = `http://${server.host}:${server.port}`;
  const charge = stripeCharge({ id: 'ch_1', amount: 2000, currency: 'eur', created: 1_717_200_000, customer: 'cus_1', payment_intent: 'pi_1', metadata: { order_id: '1001' } });
  const refund = stripeRefund({ id: 're_1', amount: 500, currency: 'eur', created: 1_717_300_000, charge: 'ch_1', reason: 'requested_by_customer' });
  server.charges.push(charge);
  server.refunds.push(refund);
  server.clock = 1_717_300_000;
  server.emit('charge.succeeded', charge);
  server.emit('refund.created', refund);
  server.emit('charge.refunded', { ...charge, amount_refunded: 500 });
});
afterAll(async () => server?.close());

describe('the Stripe stand-in against the published shapes', () => {
  it('answers lists and objects of charges, refunds and events as Stripe does', async () => {
    const answers: [string, z.ZodType][] = [
      ['/v1/charges?limit=100', listShape(chargeShape)],
      ['/v1/charges/ch_1', chargeShape],
      ['/v1/refunds?limit=100', listShape(refundShape)],
      ['/v1/refunds?charge=ch_1&limit=100', listShape(refundShape)],
      ['/v1/refunds/re_1', refundShape],
      ['/v1/events?limit=100', listShape(eventShape)],
    ];
    for (const [path, shape] of answers) {
      const { status, body } = await get(path);
      expect(status, path).toBe(200);
      expect(problems(shape, body), path).toEqual([]);
    }
    // An event's object is the object in the API's shape too.
    const events = (await get('/v1/events?limit=100')).body as { data: { type: string; data: { object: unknown } }[] };
    expect(events.data.map((e) => e.type)).toEqual(['charge.refunded', 'refund.created', 'charge.succeeded']);
    for (const e of events.data) expect(problems(e.type.startsWith('refund.') ? refundShape : chargeShape, e.data.object), e.type).toEqual([]);
  });

  it('answers errors in Stripe\'s error envelope', async () => {
    const missing = await get('/v1/charges/ch_nope');
    expect(missing.status).toBe(404);
    expect(problems(errorShape, missing.body)).toEqual([]);
    const refused = await get('/v1/charges', 'sk_test_wrong');
    expect(refused.status).toBe(401);
    expect(problems(errorShape, refused.body)).toEqual([]);
    server.script({ status: 429 }, { status: 500 });
    for (const status of [429, 500]) {
      const scripted = await get('/v1/charges');
      expect(scripted.status).toBe(status);
      expect(problems(errorShape, scripted.body)).toEqual([]);
    }
  });

  it('finds what a hand-made object lacks or adds (the check can fail)', () => {
    const charge = stripeCharge({ id: 'ch_2', amount: 1, currency: 'usd', created: 1 });
    const { livemode: _dropped, ...withoutLivemode } = charge;
    expect(problems(chargeShape, withoutLivemode)).toEqual(['livemode: Invalid input: expected boolean, received undefined']);
    expect(problems(refundShape, { ...stripeRefund({ id: 're_2', amount: 1, currency: 'usd', created: 1, charge: null }), made_up: 1 })).toHaveLength(1);
  });
});
