/**
 * Shopify Admin API (REST) Order and Customer JSON for the demo shop: snake_case keys, money
 * as decimal strings, times in the shop's zone (America/New_York), as of a run's cut-off.
 */
import { money } from './format.ts';
import type { ShipmentPlan } from './shipments.ts';
import type { CustomerPlan, OrderPlan, RefundPlan } from './shop.ts';
import { shopTime } from './time.ts';

type Json = Record<string, unknown>;

function refundJson(order: OrderPlan, refund: RefundPlan): Json {
  const gateway = order.gateway;
  const transaction = (id: number, status: 'success' | 'failure'): Json => ({
    id,
    admin_graphql_api_id: `gid://shopify/OrderTransaction/${id}`,
    order_id: order.id,
    kind: 'refund',
    status,
    amount: money(refund.amountCents),
    currency: order.currency,
    gateway,
    created_at: shopTime(refund.atMs),
    processed_at: shopTime(refund.atMs),
    message: status === 'success' ? 'Transaction approved' : 'Refund declined: the card is no longer valid',
    test: false,
  });
  return {
    id: refund.id,
    admin_graphql_api_id: `gid://shopify/Refund/${refund.id}`,
    order_id: order.id,
    created_at: shopTime(refund.atMs),
    processed_at: shopTime(refund.atMs),
    note: refund.note,
    restock: refund.restockType !== 'no_restock',
    user_id: null,
    refund_line_items: refund.lines.map((l) => ({
      id: l.id,
      line_item_id: order.lines[l.lineIndex]!.id,
      quantity: l.quantity,
      restock_type: refund.restockType,
      location_id: null,
      subtotal: money(l.subtotalCents),
      total_tax: money(l.taxCents),
    })),
    transactions: refund.failedFirst
      ? [transaction(refund.transactionIds[0], 'failure'), transaction(refund.transactionIds[1], 'success')]
      : [transaction(refund.transactionIds[1], 'success')],
    // The shipping paid back, as the Admin API gives it since 2024-10 (a RefundShippingLine; before,
    // an order adjustment of kind shipping_refund). The demo shop charges no tax on shipping.
    refund_shipping_lines: refund.shippingCents > 0 ? [{ id: refund.id * 10 + 9, subtotal_amount: money(refund.shippingCents), tax_amount: '0.00' }] : [],
  };
}

/**
 * The order as the Admin API returns it at the cut-off: a cancellation, refund or fulfilment
 * that happens later is not there yet, and `updated_at` is the latest change visible.
 */
export function shopifyOrder(order: OrderPlan, shipment: ShipmentPlan | null, cutoffMs: number): Json {
  const cancelled = order.cancel !== null && order.cancel.atMs < cutoffMs;
  const refunds = order.refunds.filter((r) => r.atMs < cutoffMs);
  const shipped = shipment !== null && shipment.shippedMs < cutoffMs;
  let updatedMs = order.createdMs;
  if (cancelled) updatedMs = Math.max(updatedMs, order.cancel!.atMs);
  for (const r of refunds) updatedMs = Math.max(updatedMs, r.atMs);
  if (shipped) updatedMs = Math.max(updatedMs, shipment.shippedMs);
  const refundedCents = refunds.reduce((s, r) => s + r.amountCents, 0);
  // The units of each line refunded by the cut-off: Shopify's current_quantity leaves them out
  // (the demo shop edits no order, so no unit is removed).
  const refundedUnits = order.lines.map((_, i) => refunds.reduce((s, r) => s + r.lines.reduce((n, l) => n + (l.lineIndex === i ? l.quantity : 0), 0), 0));
  const created = shopTime(order.createdMs);
  const currency = order.currency;
  const customer = order.customer;
  const name = `#${order.number}`;
  return {
    id: order.id,
    admin_graphql_api_id: `gid://shopify/Order/${order.id}`,
    name,
    number: order.number - 1000,
    order_number: order.number,
    created_at: created,
    updated_at: shopTime(updatedMs),
    processed_at: created,
    cancelled_at: cancelled ? shopTime(order.cancel!.atMs) : null,
    cancel_reason: cancelled ? order.cancel!.reason : null,
    closed_at: null,
    confirmed: true,
    test: order.test,
    currency,
    presentment_currency: currency,
    taxes_included: false,
    total_line_items_price: money(order.lineItemsCents),
    total_discounts: money(order.discountCents),
    subtotal_price: money(order.subtotalCents),
    total_tax: money(order.taxCents),
    total_price: money(order.totalCents),
    total_shipping_price_set: {
      shop_money: { amount: money(order.shippingCents), currency_code: currency },
      presentment_money: { amount: money(order.shippingCents), currency_code: currency },
    },
    total_weight: order.grams,
    financial_status: refundedCents === 0 ? 'paid' : refundedCents >= order.totalCents ? 'refunded' : 'partially_refunded',
    fulfillment_status: shipped ? 'fulfilled' : null,
    customer: customer ? { id: customer.id, email: customer.email, first_name: customer.firstName, last_name: customer.lastName } : null,
    email: order.email ?? '',
    contact_email: order.email,
    buyer_accepts_marketing: order.acceptsMarketing,
    customer_locale: order.region.countryCode === 'DE' ? 'de' : order.region.countryCode === 'FR' ? 'fr' : 'en',
    source_name: 'web',
    tags: '',
    note: null,
    landing_site: order.landingSite,
    referring_site: order.referringSite,
    payment_gateway_names: [order.gateway],
    discount_codes: order.discountCode ? [{ code: order.discountCode.code, amount: money(order.discountCents), type: 'percentage' }] : [],
    line_items: order.lines.map((line, i) => ({
      id: line.id,
      admin_graphql_api_id: `gid://shopify/LineItem/${line.id}`,
      product_id: line.product.id,
      variant_id: line.variant.id,
      sku: line.variant.sku,
      title: line.product.title,
      variant_title: line.variant.title,
      name: line.variant.title ? `${line.product.title} - ${line.variant.title}` : line.product.title,
      vendor: line.product.vendor,
      quantity: line.quantity,
      current_quantity: Math.max(0, line.quantity - refundedUnits[i]!),
      price: money(line.unitCents),
      total_discount: money(line.discountCents),
      discount_allocations: line.discountCents > 0 ? [{ amount: money(line.discountCents), discount_application_index: 0 }] : [],
      tax_lines: [{ title: order.region.taxTitle, price: money(line.taxCents), rate: order.region.taxRate }],
      taxable: true,
      requires_shipping: true,
      gift_card: false,
      grams: line.product.grams,
      fulfillment_status: shipped ? 'fulfilled' : null,
    })),
    shipping_lines: [
      { id: order.id * 10 + 1, code: order.shippingTitle, title: order.shippingTitle, price: money(order.shippingCents), source: 'shopify' },
    ],
    shipping_address: {
      first_name: order.buyer.firstName,
      last_name: order.buyer.lastName,
      name: `${order.buyer.firstName} ${order.buyer.lastName}`,
      city: order.region.city,
      zip: order.zip,
      province: order.region.province,
      province_code: order.region.provinceCode,
      country: order.region.country,
      country_code: order.region.countryCode,
    },
    fulfillments: shipped
      ? [
          {
            id: order.id * 10 + 2,
            order_id: order.id,
            name: `${name}.1`,
            status: 'success',
            created_at: shopTime(shipment.shippedMs),
            updated_at: shopTime(shipment.shippedMs),
            tracking_company: shipment.carrier,
            tracking_number: shipment.trackingNumber,
            tracking_numbers: [shipment.trackingNumber],
          },
        ]
      : [],
    refunds: refunds.map((r) => refundJson(order, r)),
  };
}

/** What a run knows of a registered customer: their orders up to the cut-off. */
export interface CustomerHistory {
  customer: CustomerPlan;
  ordersCount: number;
  spentCents: number;
  /** Only what the Customer shows of it: a whole order kept per customer made memory grow with the shop. */
  lastOrder: Pick<OrderPlan, 'id' | 'number' | 'createdMs'>;
  /** The latest change: an order placed or cancelled. */
  updatedMs: number;
}

/** The Admin API Customer of a history. */
export function shopifyCustomer(history: CustomerHistory): Json {
  const c = history.customer;
  const address = {
    id: c.id + 1_000_000_000_000,
    customer_id: c.id,
    first_name: c.firstName,
    last_name: c.lastName,
    city: c.region.city,
    zip: c.zip,
    province: c.region.province,
    province_code: c.region.provinceCode,
    country: c.region.country,
    country_code: c.region.countryCode,
    country_name: c.region.country,
    default: true,
  };
  const tags = [history.spentCents >= 50_000 ? 'vip' : null, history.ordersCount >= 2 ? 'repeat' : null, c.acceptsMarketing ? 'newsletter' : null].filter(Boolean);
  return {
    id: c.id,
    admin_graphql_api_id: `gid://shopify/Customer/${c.id}`,
    email: c.email,
    first_name: c.firstName,
    last_name: c.lastName,
    created_at: shopTime(c.createdMs),
    updated_at: shopTime(Math.max(c.createdMs, history.updatedMs)),
    state: c.state,
    verified_email: true,
    accepts_marketing: c.acceptsMarketing,
    email_marketing_consent: {
      state: c.acceptsMarketing ? 'subscribed' : 'not_subscribed',
      opt_in_level: 'single_opt_in',
      consent_updated_at: c.acceptsMarketing ? shopTime(c.createdMs) : null,
    },
    orders_count: history.ordersCount,
    total_spent: money(history.spentCents),
    currency: c.currency,
    last_order_id: history.lastOrder.id,
    last_order_name: `#${history.lastOrder.number}`,
    tags: tags.join(', '),
    note: null,
    phone: null,
    tax_exempt: false,
    multipass_identifier: null,
    addresses: [address],
    default_address: address,
  };
}
