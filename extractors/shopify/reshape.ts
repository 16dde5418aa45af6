/**
 * GraphQL Admin API nodes reshaped into the Admin API Order and Customer JSON of the stream
 * catalogue (the REST resource's snake_case shape: numeric `id`, money as decimal strings in
 * the shop's currency, lower-case enums), so the transforms, `verite import` of a REST-era
 * dump and the extractor all land the same record. The one place that knows both shapes.
 */

export interface GqlMoney {
  amount: string;
  currencyCode: string;
}

export interface GqlMoneyBag {
  shopMoney?: GqlMoney | null;
  presentmentMoney?: GqlMoney | null;
}

export interface GqlAddress {
  firstName?: string | null;
  lastName?: string | null;
  name?: string | null;
  company?: string | null;
  address1?: string | null;
  address2?: string | null;
  city?: string | null;
  province?: string | null;
  provinceCode?: string | null;
  country?: string | null;
  countryCodeV2?: string | null;
  zip?: string | null;
  phone?: string | null;
}

/** An entry of a customer's address book (`addressesV2`), with its own id. */
export interface GqlMailingAddress extends GqlAddress {
  id: string;
}

export interface GqlLineItem {
  id: string;
  name?: string | null;
  title?: string | null;
  variantTitle?: string | null;
  quantity?: number | null;
  currentQuantity?: number | null;
  sku?: string | null;
  vendor?: string | null;
  variant?: { id: string } | null;
  product?: { id: string } | null;
  originalUnitPriceSet?: GqlMoneyBag | null;
  totalDiscountSet?: GqlMoneyBag | null;
  discountAllocations?: { allocatedAmountSet?: GqlMoneyBag | null }[] | null;
  taxLines?: { priceSet?: GqlMoneyBag | null; rate?: number | null; title?: string | null }[] | null;
}

/** A line of a refund: which line item, how many units, their subtotal and tax. */
export interface GqlRefundLineItem {
  id?: string | null;
  quantity?: number | null;
  restockType?: string | null;
  lineItem?: { id: string } | null;
  subtotalSet?: GqlMoneyBag | null;
  totalTaxSet?: GqlMoneyBag | null;
}

/** A refunded shipping line (`RefundShippingLine`): the shipping paid back and its tax. */
export interface GqlRefundShippingLine {
  id?: string | null;
  subtotalAmountSet?: GqlMoneyBag | null;
  taxAmountSet?: GqlMoneyBag | null;
}

/** A product variant with its inventory item (whether stock is tracked, the current unit cost). */
export interface GqlVariant {
  id: string;
  sku?: string | null;
  title?: string | null;
  price?: string | null;
  inventoryItem?: { id: string; tracked?: boolean | null; unitCost?: GqlMoney | null } | null;
}

/** A Product node with its variants gathered into an array. */
export interface GqlProduct {
  id: string;
  title?: string | null;
  productType?: string | null;
  vendor?: string | null;
  status?: string | null;
  createdAt?: string | null;
  updatedAt?: string | null;
  variants: GqlVariant[];
}

export interface GqlTransaction {
  id: string;
  kind?: string | null;
  status?: string | null;
  gateway?: string | null;
  createdAt?: string | null;
  processedAt?: string | null;
  amountSet?: GqlMoneyBag | null;
}

export interface GqlRefund {
  id: string;
  createdAt?: string | null;
  note?: string | null;
  transactions: GqlTransaction[];
  /** Gathered from its connection (asked for by refund id); absent from a node read without it. */
  refundLineItems?: GqlRefundLineItem[];
  /** Likewise. */
  refundShippingLines?: GqlRefundShippingLine[];
}

/** An Order node with its connections already gathered into arrays. */
export interface GqlOrder {
  id: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  createdAt?: string | null;
  updatedAt?: string | null;
  processedAt?: string | null;
  cancelledAt?: string | null;
  cancelReason?: string | null;
  closedAt?: string | null;
  test?: boolean | null;
  taxesIncluded?: boolean | null;
  currencyCode?: string | null;
  presentmentCurrencyCode?: string | null;
  displayFinancialStatus?: string | null;
  displayFulfillmentStatus?: string | null;
  note?: string | null;
  tags?: string[] | null;
  sourceName?: string | null;
  paymentGatewayNames?: string[] | null;
  totalPriceSet?: GqlMoneyBag | null;
  subtotalPriceSet?: GqlMoneyBag | null;
  totalDiscountsSet?: GqlMoneyBag | null;
  totalTaxSet?: GqlMoneyBag | null;
  totalShippingPriceSet?: GqlMoneyBag | null;
  currentTotalPriceSet?: GqlMoneyBag | null;
  customer?: { id: string; defaultEmailAddress?: { emailAddress?: string | null } | null } | null;
  shippingAddress?: GqlAddress | null;
  customerJourneySummary?: { firstVisit?: { landingPage?: string | null; referrerUrl?: string | null } | null } | null;
  lineItems: GqlLineItem[];
  refunds: GqlRefund[];
}

export interface GqlCustomer {
  id: string;
  firstName?: string | null;
  lastName?: string | null;
  createdAt?: string | null;
  updatedAt?: string | null;
  state?: string | null;
  note?: string | null;
  tags?: string[] | null;
  verifiedEmail?: boolean | null;
  taxExempt?: boolean | null;
  numberOfOrders?: string | number | null;
  amountSpent?: GqlMoney | null;
  defaultEmailAddress?: { emailAddress?: string | null; marketingState?: string | null } | null;
  defaultPhoneNumber?: { phoneNumber?: string | null } | null;
  defaultAddress?: GqlAddress | null;
  /** The address book, gathered from its connection (paged follow-ups, or a bulk export's lines). */
  addresses?: GqlMailingAddress[];
}

/** An event of the `events` query; a `BasicEvent` also names its subject. */
export interface GqlEvent {
  id: string;
  action: string;
  createdAt: string;
  message?: string | null;
  subjectId?: string | null;
  subjectType?: string | null;
}

type Json = Record<string, unknown>;

/**
 * The numeric id of a global id (`gid://shopify/Order/450789469` → 450789469), as the REST
 * resource gives it; kept as text if it would not fit a JavaScript number exactly.
 */
export function legacyId(gid: string | null | undefined): number | string | null {
  if (!gid) return null;
  const m = /\/(\d+)(?:\?.*)?$/.exec(gid);
  if (!m) return gid;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : m[1]!;
}

const lower = (v: string | null | undefined): string | null => (v ? v.toLowerCase() : null);

const amount = (bag: GqlMoneyBag | null | undefined): string | null => bag?.shopMoney?.amount ?? null;

function money(m: GqlMoney | null | undefined): Json | undefined {
  return m ? { amount: m.amount, currency_code: m.currencyCode } : undefined;
}

function moneySet(bag: GqlMoneyBag | null | undefined): Json | null {
  if (!bag) return null;
  const out: Json = {};
  const shop = money(bag.shopMoney);
  const presentment = money(bag.presentmentMoney);
  if (shop) out.shop_money = shop;
  if (presentment) out.presentment_money = presentment;
  return out;
}

function address(a: GqlAddress | null | undefined): Json | null {
  if (!a) return null;
  return {
    first_name: a.firstName ?? null,
    last_name: a.lastName ?? null,
    name: a.name ?? null,
    company: a.company ?? null,
    address1: a.address1 ?? null,
    address2: a.address2 ?? null,
    city: a.city ?? null,
    province: a.province ?? null,
    province_code: a.provinceCode ?? null,
    country: a.country ?? null,
    country_code: a.countryCodeV2 ?? null,
    zip: a.zip ?? null,
    phone: a.phone ?? null,
  };
}

/** REST's `fulfillment_status` knows only these; GraphQL's other display states read as unfulfilled (null). */
const FULFILLMENT: Record<string, string> = { FULFILLED: 'fulfilled', PARTIALLY_FULFILLED: 'partial', RESTOCKED: 'restocked' };

function lineItem(li: GqlLineItem): Json {
  return {
    id: legacyId(li.id),
    admin_graphql_api_id: li.id,
    name: li.name ?? null,
    title: li.title ?? null,
    variant_title: li.variantTitle ?? null,
    quantity: li.quantity ?? null,
    current_quantity: li.currentQuantity ?? null,
    sku: li.sku ?? null,
    vendor: li.vendor ?? null,
    variant_id: legacyId(li.variant?.id),
    product_id: legacyId(li.product?.id),
    price: amount(li.originalUnitPriceSet),
    price_set: moneySet(li.originalUnitPriceSet),
    total_discount: amount(li.totalDiscountSet),
    total_discount_set: moneySet(li.totalDiscountSet),
    discount_allocations: (li.discountAllocations ?? []).map((d) => ({ amount: amount(d.allocatedAmountSet), amount_set: moneySet(d.allocatedAmountSet) })),
    tax_lines: (li.taxLines ?? []).map((t) => ({ price: amount(t.priceSet), rate: t.rate ?? null, title: t.title ?? null, price_set: moneySet(t.priceSet) })),
  };
}

function refundLineItem(rli: GqlRefundLineItem): Json {
  return {
    id: legacyId(rli.id),
    line_item_id: legacyId(rli.lineItem?.id),
    quantity: rli.quantity ?? null,
    restock_type: lower(rli.restockType),
    subtotal: amount(rli.subtotalSet),
    subtotal_set: moneySet(rli.subtotalSet),
    total_tax: amount(rli.totalTaxSet),
    total_tax_set: moneySet(rli.totalTaxSet),
  };
}

function refundShippingLine(rsl: GqlRefundShippingLine): Json {
  return {
    id: legacyId(rsl.id),
    subtotal_amount: amount(rsl.subtotalAmountSet),
    subtotal_amount_set: moneySet(rsl.subtotalAmountSet),
    tax_amount: amount(rsl.taxAmountSet),
    tax_amount_set: moneySet(rsl.taxAmountSet),
  };
}

function transaction(t: GqlTransaction, orderId: number | string | null): Json {
  return {
    id: legacyId(t.id),
    admin_graphql_api_id: t.id,
    order_id: orderId,
    // REST spells kinds and statuses in lower case ('refund', 'success'), which the transforms read.
    kind: lower(t.kind),
    status: lower(t.status),
    amount: amount(t.amountSet),
    currency: t.amountSet?.shopMoney?.currencyCode ?? null,
    gateway: t.gateway ?? null,
    created_at: t.createdAt ?? null,
    processed_at: t.processedAt ?? null,
  };
}

function refund(r: GqlRefund, orderId: number | string | null): Json {
  return {
    id: legacyId(r.id),
    admin_graphql_api_id: r.id,
    order_id: orderId,
    created_at: r.createdAt ?? null,
    note: r.note ?? null,
    transactions: r.transactions.map((t) => transaction(t, orderId)),
    refund_line_items: (r.refundLineItems ?? []).map(refundLineItem),
    refund_shipping_lines: (r.refundShippingLines ?? []).map(refundShippingLine),
  };
}

/**
 * An Order node (line items and refund transactions gathered) as the Admin API Order record.
 * Amounts are the shop-currency side of each MoneyBag, as REST's `total_price` and friends are.
 *
 * @example reshapeOrder({ id: 'gid://shopify/Order/1', totalPriceSet: { shopMoney: { amount: '10.0', currencyCode: 'EUR' } }, lineItems: [], refunds: [] })
 *   // → { id: 1, total_price: '10.0', … }
 */
export function reshapeOrder(o: GqlOrder): Json {
  const id = legacyId(o.id);
  const visit = o.customerJourneySummary?.firstVisit;
  return {
    id,
    admin_graphql_api_id: o.id,
    name: o.name ?? null,
    email: o.email ?? null,
    phone: o.phone ?? null,
    created_at: o.createdAt ?? null,
    updated_at: o.updatedAt ?? null,
    processed_at: o.processedAt ?? null,
    cancelled_at: o.cancelledAt ?? null,
    cancel_reason: lower(o.cancelReason),
    closed_at: o.closedAt ?? null,
    test: o.test ?? false,
    // Whether the line prices and the subtotal include tax (most EU shops): the line sales take it out.
    taxes_included: o.taxesIncluded ?? null,
    currency: o.currencyCode ?? o.totalPriceSet?.shopMoney?.currencyCode ?? null,
    presentment_currency: o.presentmentCurrencyCode ?? null,
    total_price: amount(o.totalPriceSet),
    subtotal_price: amount(o.subtotalPriceSet),
    total_discounts: amount(o.totalDiscountsSet),
    total_tax: amount(o.totalTaxSet),
    current_total_price: amount(o.currentTotalPriceSet),
    total_price_set: moneySet(o.totalPriceSet),
    total_shipping_price_set: moneySet(o.totalShippingPriceSet),
    financial_status: lower(o.displayFinancialStatus),
    fulfillment_status: o.displayFulfillmentStatus ? (FULFILLMENT[o.displayFulfillmentStatus] ?? null) : null,
    tags: (o.tags ?? []).join(', '),
    note: o.note ?? null,
    source_name: o.sourceName ?? null,
    payment_gateway_names: o.paymentGatewayNames ?? [],
    landing_site: visit?.landingPage ?? null,
    referring_site: visit?.referrerUrl ?? null,
    customer: o.customer
      ? { id: legacyId(o.customer.id), admin_graphql_api_id: o.customer.id, email: o.customer.defaultEmailAddress?.emailAddress ?? null }
      : null,
    shipping_address: address(o.shippingAddress),
    line_items: o.lineItems.map(lineItem),
    refunds: o.refunds.map((r) => refund(r, id)),
  };
}

/** A Customer node as the Admin API Customer record. */
export function reshapeCustomer(c: GqlCustomer): Json {
  const orders = c.numberOfOrders == null ? null : Number(c.numberOfOrders);
  const consent = c.defaultEmailAddress?.marketingState;
  return {
    id: legacyId(c.id),
    admin_graphql_api_id: c.id,
    email: c.defaultEmailAddress?.emailAddress ?? null,
    first_name: c.firstName ?? null,
    last_name: c.lastName ?? null,
    phone: c.defaultPhoneNumber?.phoneNumber ?? null,
    created_at: c.createdAt ?? null,
    updated_at: c.updatedAt ?? null,
    state: lower(c.state),
    note: c.note ?? null,
    tags: (c.tags ?? []).join(', '),
    verified_email: c.verifiedEmail ?? null,
    tax_exempt: c.taxExempt ?? null,
    orders_count: orders !== null && Number.isFinite(orders) ? orders : null,
    total_spent: c.amountSpent?.amount ?? null,
    currency: c.amountSpent?.currencyCode ?? null,
    email_marketing_consent: consent ? { state: consent.toLowerCase() } : null,
    default_address: address(c.defaultAddress),
    addresses: (c.addresses ?? []).map((a) => ({ id: legacyId(a.id), ...address(a) })),
  };
}

/**
 * A Product node (variants gathered) as the `shopify.products` record of the stream catalogue:
 * REST's Product fields in snake_case, each variant with its inventory item's id, whether its
 * stock is tracked, and its unit cost (`{amount, currency_code}`, null when none is set).
 */
export function reshapeProduct(p: GqlProduct): Json {
  const id = legacyId(p.id);
  return {
    id,
    admin_graphql_api_id: p.id,
    title: p.title ?? null,
    product_type: p.productType ?? null,
    vendor: p.vendor ?? null,
    status: lower(p.status),
    created_at: p.createdAt ?? null,
    updated_at: p.updatedAt ?? null,
    variants: p.variants.map((v) => ({
      id: legacyId(v.id),
      admin_graphql_api_id: v.id,
      product_id: id,
      sku: v.sku ?? null,
      title: v.title ?? null,
      price: v.price ?? null,
      inventory_item_id: legacyId(v.inventoryItem?.id),
      tracked: v.inventoryItem?.tracked ?? null,
      unit_cost: money(v.inventoryItem?.unitCost) ?? null,
    })),
  };
}

/** `PRODUCT_VARIANT` → `ProductVariant`: how REST's Event names its `subject_type`. */
function restSubjectType(type: string | null | undefined): string | null {
  return type ? type.toLowerCase().replace(/(^|_)([a-z])/g, (_, _sep: string, c: string) => c.toUpperCase()) : null;
}

/**
 * An Event node as the Admin API Event record (REST's shape): `subject_type` `Order` or
 * `Customer`, `verb` `destroy`, and `subject_id` the number of the deleted record's id, which
 * is the key its raw row has.
 */
export function reshapeEvent(e: GqlEvent): Json {
  return {
    id: legacyId(e.id),
    admin_graphql_api_id: e.id,
    subject_id: legacyId(e.subjectId),
    subject_type: restSubjectType(e.subjectType),
    verb: e.action,
    created_at: e.createdAt,
    message: e.message ?? null,
  };
}
