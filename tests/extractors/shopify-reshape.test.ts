import { describe, expect, it } from 'vitest';
import { catalog } from '../../catalog/catalog.ts';
import { legacyId, reshapeCustomer, reshapeOrder, type GqlOrder } from '../../extractors/shopify/reshape.ts';

const shop = (amount: string) => ({ shopMoney: { amount, currencyCode: 'EUR' } });
const both = (amount: string, presentment: string) => ({
  shopMoney: { amount, currencyCode: 'EUR' },
  presentmentMoney: { amount: presentment, currencyCode: 'USD' },
});

/** An order node as the GraphQL Admin API answers it, with its connections gathered. */
const node: GqlOrder = {
  id: 'gid://shopify/Order/5550001',
  name: '#1042',
  email: 'ana@example.com',
  phone: null,
  createdAt: '2026-03-01T09:15:00Z',
  updatedAt: '2026-03-04T17:00:00Z',
  processedAt: '2026-03-01T09:15:00Z',
  cancelledAt: null,
  cancelReason: null,
  closedAt: null,
  test: false,
  // French prices include TVA: 2 × 24.95 − 5.00 = 44.90 holds 7.48 of tax at 20 %.
  taxesIncluded: true,
  currencyCode: 'EUR',
  presentmentCurrencyCode: 'USD',
  displayFinancialStatus: 'PARTIALLY_REFUNDED',
  displayFulfillmentStatus: 'PARTIALLY_FULFILLED',
  note: 'leave at the door',
  tags: ['gift', 'vip'],
  sourceName: 'web',
  paymentGatewayNames: ['shopify_payments', 'gift_card'],
  totalPriceSet: both('59.90', '64.50'),
  subtotalPriceSet: shop('49.90'),
  totalDiscountsSet: shop('5.00'),
  totalTaxSet: shop('9.98'),
  totalShippingPriceSet: both('10.00', '10.80'),
  currentTotalPriceSet: shop('39.90'),
  customer: { id: 'gid://shopify/Customer/777', defaultEmailAddress: { emailAddress: 'ana@example.com' } },
  shippingAddress: {
    firstName: 'Ana', lastName: 'Lima', name: 'Ana Lima', company: null, address1: '1 Rue Haute', address2: null,
    city: 'Lyon', province: null, provinceCode: null, country: 'France', countryCodeV2: 'FR', zip: '69001', phone: null,
  },
  customerJourneySummary: { firstVisit: { landingPage: 'https://shop.example/?utm_source=google&utm_medium=cpc', referrerUrl: 'https://www.google.com/' } },
  lineItems: [
    {
      id: 'gid://shopify/LineItem/901', name: 'Mug - Blue', title: 'Mug', variantTitle: 'Blue', quantity: 2, currentQuantity: 1, sku: 'MUG-B', vendor: 'Atelier',
      variant: { id: 'gid://shopify/ProductVariant/31' }, product: { id: 'gid://shopify/Product/3' },
      originalUnitPriceSet: shop('24.95'), totalDiscountSet: shop('5.00'),
      discountAllocations: [{ allocatedAmountSet: shop('5.00') }], taxLines: [{ priceSet: shop('7.48'), rate: 0.2, title: 'TVA' }],
    },
    {
      id: 'gid://shopify/LineItem/902', name: 'Custom engraving', title: 'Custom engraving', quantity: 1, currentQuantity: 1, sku: null, vendor: null,
      variant: null, product: null, originalUnitPriceSet: shop('0.00'), totalDiscountSet: shop('0.00'), discountAllocations: [], taxLines: [],
    },
  ],
  refunds: [
    {
      id: 'gid://shopify/Refund/44',
      createdAt: '2026-03-04T16:59:00Z',
      note: 'one mug broken',
      transactions: [
        {
          id: 'gid://shopify/OrderTransaction/66', kind: 'REFUND', status: 'SUCCESS', gateway: 'shopify_payments',
          createdAt: '2026-03-04T16:59:01Z', processedAt: '2026-03-04T16:59:02Z', amountSet: shop('20.00'),
        },
      ],
      refundLineItems: [
        { id: 'gid://shopify/RefundLineItem/55', quantity: 1, restockType: 'RETURN', lineItem: { id: 'gid://shopify/LineItem/901' }, subtotalSet: shop('22.45'), totalTaxSet: shop('3.74') },
      ],
      refundShippingLines: [{ id: 'gid://shopify/RefundShippingLine/77', subtotalAmountSet: shop('4.90'), taxAmountSet: shop('0.98') }],
    },
  ],
};

describe('reshapeOrder', () => {
  it('gives the Admin API Order record: numeric ids, shop-currency amounts, lower-case kinds', () => {
    expect(reshapeOrder(node)).toEqual({
      id: 5550001,
      admin_graphql_api_id: 'gid://shopify/Order/5550001',
      name: '#1042',
      email: 'ana@example.com',
      phone: null,
      created_at: '2026-03-01T09:15:00Z',
      updated_at: '2026-03-04T17:00:00Z',
      processed_at: '2026-03-01T09:15:00Z',
      cancelled_at: null,
      cancel_reason: null,
      closed_at: null,
      test: false,
      taxes_included: true,
      currency: 'EUR',
      presentment_currency: 'USD',
      total_price: '59.90',
      subtotal_price: '49.90',
      total_discounts: '5.00',
      total_tax: '9.98',
      current_total_price: '39.90',
      total_price_set: { shop_money: { amount: '59.90', currency_code: 'EUR' }, presentment_money: { amount: '64.50', currency_code: 'USD' } },
      total_shipping_price_set: { shop_money: { amount: '10.00', currency_code: 'EUR' }, presentment_money: { amount: '10.80', currency_code: 'USD' } },
      financial_status: 'partially_refunded',
      fulfillment_status: 'partial',
      tags: 'gift, vip',
      note: 'leave at the door',
      source_name: 'web',
      payment_gateway_names: ['shopify_payments', 'gift_card'],
      landing_site: 'https://shop.example/?utm_source=google&utm_medium=cpc',
      referring_site: 'https://www.google.com/',
      customer: { id: 777, admin_graphql_api_id: 'gid://shopify/Customer/777', email: 'ana@example.com' },
      shipping_address: {
        first_name: 'Ana', last_name: 'Lima', name: 'Ana Lima', company: null, address1: '1 Rue Haute', address2: null,
        city: 'Lyon', province: null, province_code: null, country: 'France', country_code: 'FR', zip: '69001', phone: null,
      },
      line_items: [
        {
          id: 901, admin_graphql_api_id: 'gid://shopify/LineItem/901', name: 'Mug - Blue', title: 'Mug', variant_title: 'Blue', quantity: 2, current_quantity: 1,
          sku: 'MUG-B', vendor: 'Atelier', variant_id: 31, product_id: 3,
          price: '24.95', price_set: { shop_money: { amount: '24.95', currency_code: 'EUR' } },
          total_discount: '5.00', total_discount_set: { shop_money: { amount: '5.00', currency_code: 'EUR' } },
          // Issue 13: what the line's sales are computed from (docs/metrics.md "Line sales").
          discount_allocations: [{ amount: '5.00', amount_set: { shop_money: { amount: '5.00', currency_code: 'EUR' } } }],
          tax_lines: [{ price: '7.48', rate: 0.2, title: 'TVA', price_set: { shop_money: { amount: '7.48', currency_code: 'EUR' } } }],
        },
        {
          id: 902, admin_graphql_api_id: 'gid://shopify/LineItem/902', name: 'Custom engraving', title: 'Custom engraving', variant_title: null, quantity: 1, current_quantity: 1,
          sku: null, vendor: null, variant_id: null, product_id: null,
          price: '0.00', price_set: { shop_money: { amount: '0.00', currency_code: 'EUR' } },
          total_discount: '0.00', total_discount_set: { shop_money: { amount: '0.00', currency_code: 'EUR' } },
          discount_allocations: [],
          tax_lines: [],
        },
      ],
      refunds: [
        {
          id: 44,
          admin_graphql_api_id: 'gid://shopify/Refund/44',
          order_id: 5550001,
          created_at: '2026-03-04T16:59:00Z',
          note: 'one mug broken',
          transactions: [
            {
              id: 66, admin_graphql_api_id: 'gid://shopify/OrderTransaction/66', order_id: 5550001,
              kind: 'refund', status: 'success', amount: '20.00', currency: 'EUR', gateway: 'shopify_payments',
              created_at: '2026-03-04T16:59:01Z', processed_at: '2026-03-04T16:59:02Z',
            },
          ],
          // Issue 13: which units came back.
          refund_line_items: [
            {
              id: 55, line_item_id: 901, quantity: 1, restock_type: 'return',
              subtotal: '22.45', subtotal_set: { shop_money: { amount: '22.45', currency_code: 'EUR' } },
              total_tax: '3.74', total_tax_set: { shop_money: { amount: '3.74', currency_code: 'EUR' } },
            },
          ],
          // The shipping paid back and its tax (RefundShippingLine), which the refund's amount holds.
          refund_shipping_lines: [
            {
              id: 77,
              subtotal_amount: '4.90', subtotal_amount_set: { shop_money: { amount: '4.90', currency_code: 'EUR' } },
              tax_amount: '0.98', tax_amount_set: { shop_money: { amount: '0.98', currency_code: 'EUR' } },
            },
          ],
        },
      ],
    });
  });

  it('lands under the catalogue key and version of shopify.orders', () => {
    const record = reshapeOrder(node);
    expect(catalog.shopify.orders.keyOf(record)).toBe('5550001');
    expect(catalog.shopify.orders.versionOf?.(record)).toBe('2026-03-04T17:00:00.000Z');
  });

  it('reads a guest order without a customer, a journey or money bags as nulls, and an unfulfilled order as null', () => {
    const guest = reshapeOrder({
      id: 'gid://shopify/Order/2', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
      test: true, displayFulfillmentStatus: 'UNFULFILLED', customer: null, customerJourneySummary: null, lineItems: [], refunds: [],
      totalPriceSet: shop('5.00'),
    });
    expect(guest).toMatchObject({
      id: 2, test: true, currency: 'EUR', total_price: '5.00', subtotal_price: null, customer: null,
      landing_site: null, referring_site: null, fulfillment_status: null, tags: '', payment_gateway_names: [], line_items: [], refunds: [],
    });
  });
});

describe('reshapeCustomer', () => {
  it('gives the Admin API Customer record', () => {
    expect(
      reshapeCustomer({
        id: 'gid://shopify/Customer/777',
        firstName: 'Ana',
        lastName: 'Lima',
        createdAt: '2025-12-24T08:00:00Z',
        updatedAt: '2026-03-04T17:00:00Z',
        state: 'ENABLED',
        note: null,
        tags: ['vip'],
        verifiedEmail: true,
        taxExempt: false,
        numberOfOrders: '3',
        amountSpent: { amount: '149.70', currencyCode: 'EUR' },
        defaultEmailAddress: { emailAddress: 'ana@example.com', marketingState: 'NOT_SUBSCRIBED' },
        defaultPhoneNumber: { phoneNumber: '+33600000000' },
        defaultAddress: null,
        addresses: [{ id: 'gid://shopify/MailingAddress/91', firstName: 'Ana', lastName: 'Lima', city: 'Lyon', countryCodeV2: 'FR', zip: '69001' }],
      }),
    ).toEqual({
      id: 777,
      admin_graphql_api_id: 'gid://shopify/Customer/777',
      email: 'ana@example.com',
      first_name: 'Ana',
      last_name: 'Lima',
      phone: '+33600000000',
      created_at: '2025-12-24T08:00:00Z',
      updated_at: '2026-03-04T17:00:00Z',
      state: 'enabled',
      note: null,
      tags: 'vip',
      verified_email: true,
      tax_exempt: false,
      orders_count: 3,
      total_spent: '149.70',
      currency: 'EUR',
      email_marketing_consent: { state: 'not_subscribed' },
      default_address: null,
      addresses: [
        {
          id: 91, first_name: 'Ana', last_name: 'Lima', name: null, company: null, address1: null, address2: null, city: 'Lyon', province: null,
          province_code: null, country: null, country_code: 'FR', zip: '69001', phone: null,
        },
      ],
    });
  });
});

describe('legacyId', () => {
  it('takes the number of a global id, as text when it would lose digits', () => {
    expect(legacyId('gid://shopify/Order/450789469')).toBe(450789469);
    expect(legacyId('gid://shopify/LineItem/12?x=1')).toBe(12);
    expect(legacyId('gid://shopify/Order/90071992547409931')).toBe('90071992547409931');
    expect(legacyId(null)).toBeNull();
  });
});
