/**
 * The GraphQL Admin API documents verite sends. Selections are shared by the paged queries and
 * the bulk operations, so both paths land the same record. Page sizes keep each query's
 * requested cost under Shopify's single-query maximum (1,000 points): an object costs 1, a
 * connection 2 plus `first` times its node.
 */

const SHOP_MONEY = 'shopMoney { amount currencyCode }';
const BOTH_MONEY = 'shopMoney { amount currencyCode } presentmentMoney { amount currencyCode }';
const ADDRESS = 'firstName lastName name company address1 address2 city province provinceCode country countryCodeV2 zip phone';

/** An order's own fields; its refunds come as a list (ids and dates; transactions are asked for by id). */
export const ORDER_FIELDS = [
  'id name email phone createdAt updatedAt processedAt cancelledAt cancelReason closedAt test taxesIncluded',
  'currencyCode presentmentCurrencyCode displayFinancialStatus displayFulfillmentStatus note tags sourceName paymentGatewayNames',
  `totalPriceSet { ${BOTH_MONEY} } subtotalPriceSet { ${SHOP_MONEY} } totalDiscountsSet { ${SHOP_MONEY} } totalTaxSet { ${SHOP_MONEY} }`,
  `totalShippingPriceSet { ${BOTH_MONEY} } currentTotalPriceSet { ${SHOP_MONEY} }`,
  'customer { id defaultEmailAddress { emailAddress } }',
  `shippingAddress { ${ADDRESS} }`,
  'customerJourneySummary { firstVisit { landingPage referrerUrl } }',
  'refunds { id createdAt note }',
].join(' ');

/**
 * A line item's fields: with its discount allocations (order-level discount codes included) and
 * tax lines, lists of at most a few entries, which the line's sales are computed from.
 */
export const LINE_ITEM_FIELDS = [
  `id name title variantTitle quantity currentQuantity sku vendor variant { id } product { id } originalUnitPriceSet { ${SHOP_MONEY} } totalDiscountSet { ${SHOP_MONEY} }`,
  `discountAllocations { allocatedAmountSet { ${SHOP_MONEY} } } taxLines { priceSet { ${SHOP_MONEY} } rate title }`,
].join(' ');

/** A refund line item: which line, how many units, and their amounts (subtotal and tax). */
export const REFUND_LINE_ITEM_FIELDS = `id quantity restockType lineItem { id } subtotalSet { ${SHOP_MONEY} } totalTaxSet { ${SHOP_MONEY} }`;

/** A refunded shipping line (`RefundShippingLine`): the shipping paid back and its tax, which the refund's amount holds. */
export const REFUND_SHIPPING_LINE_FIELDS = `id subtotalAmountSet { ${SHOP_MONEY} } taxAmountSet { ${SHOP_MONEY} }`;

export const TRANSACTION_FIELDS = `id kind status gateway createdAt processedAt amountSet { ${SHOP_MONEY} }`;

export const CUSTOMER_FIELDS = [
  'id firstName lastName createdAt updatedAt state note tags verifiedEmail taxExempt numberOfOrders',
  'amountSpent { amount currencyCode } defaultEmailAddress { emailAddress marketingState } defaultPhoneNumber { phoneNumber }',
  `defaultAddress { ${ADDRESS} }`,
].join(' ');

/** A customer's address book entry: the fields of the default address, and its own id. */
export const ADDRESS_FIELDS = `id ${ADDRESS}`;

const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';

/** Orders per page (about 80 points each with their first line items). */
export const ORDERS_PAGE_SIZE = 10;
/** Line items asked for with each order of a page; an order with more gets its own follow-up queries. */
export const ORDER_LINE_ITEMS_FIRST = 8;
/** Customers per page (about 10 points each with their first addresses). */
export const CUSTOMERS_PAGE_SIZE = 50;
/** Addresses asked for with each customer of a page; a customer with more gets a follow-up query. */
export const CUSTOMER_ADDRESSES_FIRST = 3;
/** Refunds whose transactions, line items and shipping lines are asked for in one `nodes` query (about 80 points each). */
export const REFUNDS_PER_QUERY = 10;
/** Refund line items asked for with each refund; a refund with more gets follow-up queries. */
export const REFUND_LINE_ITEMS_FIRST = 5;
/** Refunded shipping lines asked for with each refund (an order has one shipping line, rarely more); a refund with more gets follow-up queries. */
export const REFUND_SHIPPING_LINES_FIRST = 2;

export const ORDERS_PAGE = `query VeriteOrders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    ${PAGE_INFO}
    nodes { ${ORDER_FIELDS} lineItems(first: ${ORDER_LINE_ITEMS_FIRST}) { ${PAGE_INFO} nodes { ${LINE_ITEM_FIELDS} } } }
  }
}`;

export const ORDER_LINE_ITEMS = `query VeriteOrderLineItems($id: ID!, $after: String) {
  node(id: $id) { ... on Order { id lineItems(first: 100, after: $after) { ${PAGE_INFO} nodes { ${LINE_ITEM_FIELDS} } } } }
}`;

/** A refund's transactions, its first line items and its first refunded shipping lines, by refund id. */
export const REFUND_TRANSACTIONS = `query VeriteRefundTransactions($ids: [ID!]!) {
  nodes(ids: $ids) { ... on Refund { id transactions(first: 10) { ${PAGE_INFO} nodes { ${TRANSACTION_FIELDS} } } refundLineItems(first: ${REFUND_LINE_ITEMS_FIRST}) { ${PAGE_INFO} nodes { ${REFUND_LINE_ITEM_FIELDS} } } refundShippingLines(first: ${REFUND_SHIPPING_LINES_FIRST}) { ${PAGE_INFO} nodes { ${REFUND_SHIPPING_LINE_FIELDS} } } } }
}`;

export const REFUND_MORE_LINE_ITEMS = `query VeriteRefundMoreLineItems($id: ID!, $after: String) {
  node(id: $id) { ... on Refund { id refundLineItems(first: 100, after: $after) { ${PAGE_INFO} nodes { ${REFUND_LINE_ITEM_FIELDS} } } } }
}`;

export const REFUND_MORE_SHIPPING_LINES = `query VeriteRefundMoreShippingLines($id: ID!, $after: String) {
  node(id: $id) { ... on Refund { id refundShippingLines(first: 50, after: $after) { ${PAGE_INFO} nodes { ${REFUND_SHIPPING_LINE_FIELDS} } } } }
}`;

export const REFUND_MORE_TRANSACTIONS = `query VeriteRefundMoreTransactions($id: ID!, $after: String) {
  node(id: $id) { ... on Refund { id transactions(first: 50, after: $after) { ${PAGE_INFO} nodes { ${TRANSACTION_FIELDS} } } } }
}`;

export const CUSTOMERS_PAGE = `query VeriteCustomers($first: Int!, $after: String, $query: String!) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    ${PAGE_INFO}
    nodes { ${CUSTOMER_FIELDS} addressesV2(first: ${CUSTOMER_ADDRESSES_FIRST}) { ${PAGE_INFO} nodes { ${ADDRESS_FIELDS} } } }
  }
}`;

export const CUSTOMER_ADDRESSES = `query VeriteCustomerAddresses($id: ID!, $after: String) {
  node(id: $id) { ... on Customer { id addressesV2(first: 100, after: $after) { ${PAGE_INFO} nodes { ${ADDRESS_FIELDS} } } } }
}`;

/** A product's own fields. */
export const PRODUCT_FIELDS = 'id title productType vendor status createdAt updatedAt';

/** A variant, with its inventory item: whether stock is tracked, and the unit cost Shopify keeps (its current one only). */
export const VARIANT_FIELDS = 'id sku title price inventoryItem { id tracked unitCost { amount currencyCode } }';

/** Products per page (about 33 points each with their first variants). */
export const PRODUCTS_PAGE_SIZE = 20;
/** Variants asked for with each product of a page; a product with more gets follow-up queries. */
export const PRODUCT_VARIANTS_FIRST = 10;

export const PRODUCTS_PAGE = `query VeriteProducts($first: Int!, $after: String, $query: String!) {
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    ${PAGE_INFO}
    nodes { ${PRODUCT_FIELDS} variants(first: ${PRODUCT_VARIANTS_FIRST}) { ${PAGE_INFO} nodes { ${VARIANT_FIELDS} } } }
  }
}`;

export const PRODUCT_VARIANTS = `query VeriteProductVariants($id: ID!, $after: String) {
  node(id: $id) { ... on Product { id variants(first: 100, after: $after) { ${PAGE_INFO} nodes { ${VARIANT_FIELDS} } } } }
}`;

/** A bulk export of the products matching `search`, their variants as lines of their own. */
export function bulkProductsQuery(search: string): string {
  return `{ products(query: ${JSON.stringify(search)}, sortKey: UPDATED_AT) { edges { node { ${PRODUCT_FIELDS} variants { edges { node { ${VARIANT_FIELDS} } } } } } } }`;
}

/** An inventory level: its location, when it last changed, and its `available` quantity. */
export const INVENTORY_LEVEL_FIELDS = 'id updatedAt location { id } quantities(names: ["available"]) { name quantity }';

/** Inventory items per page (about 37 points each with their first levels: 742 a page, under the single-query limit of 1,000). */
export const INVENTORY_ITEMS_PAGE_SIZE = 20;
/** Levels (locations) asked for with each item of a page; an item stocked in more gets follow-up queries. */
export const INVENTORY_LEVELS_FIRST = 10;

/**
 * Every inventory item with its variant, that variant's product's status, and its level at each
 * location (the stock as it is now). The status is kept with the snapshot: Shopify keeps only the
 * current one, and a product archived later must not change the past days' stock-outs.
 */
export const INVENTORY_ITEMS_PAGE = `query VeriteInventoryItems($first: Int!, $after: String) {
  inventoryItems(first: $first, after: $after) {
    ${PAGE_INFO}
    nodes { id tracked variants(first: 1) { nodes { id product { status } } } inventoryLevels(first: ${INVENTORY_LEVELS_FIRST}) { ${PAGE_INFO} nodes { ${INVENTORY_LEVEL_FIELDS} } } }
  }
}`;

export const INVENTORY_ITEM_LEVELS = `query VeriteInventoryItemLevels($id: ID!, $after: String) {
  node(id: $id) { ... on InventoryItem { id inventoryLevels(first: 100, after: $after) { ${PAGE_INFO} nodes { ${INVENTORY_LEVEL_FIELDS} } } } }
}`;

/** Deletion events per page (about 1 point each: no connection below them). */
export const DELETION_EVENTS_PAGE_SIZE = 250;

/**
 * The events Shopify records when an order or a customer is deleted (`action: destroy`), by
 * creation date; `subjectId` names what was deleted (only `BasicEvent` carries it). Shopify
 * keeps events for a year.
 */
export const DELETION_EVENTS = `query VeriteDeletions($first: Int!, $after: String, $query: String!) {
  events(first: $first, after: $after, query: $query, sortKey: CREATED_AT) {
    ${PAGE_INFO}
    nodes { id action createdAt message ... on BasicEvent { subjectId subjectType } }
  }
}`;

/** The search of {@link DELETION_EVENTS}: orders and customers deleted in a range of creation times. */
export function deletionSearch(from: string, to: string): string {
  return `action:destroy AND (subject_type:ORDER OR subject_type:CUSTOMER) AND created_at:>='${from}' AND created_at:<='${to}'`;
}

/**
 * A bulk export of the orders matching `search`: line items (a nested connection) come back as
 * lines of their own with `__parentId`, anywhere in the file (see `bulk-file.ts`). Connections
 * cannot sit inside list fields in a bulk query, so refund transactions, line items and
 * shipping lines are asked for afterwards by refund id.
 */
export function bulkOrdersQuery(search: string): string {
  return `{ orders(query: ${JSON.stringify(search)}, sortKey: UPDATED_AT) { edges { node { ${ORDER_FIELDS} lineItems { edges { node { ${LINE_ITEM_FIELDS} } } } } } } }`;
}

/** A bulk export of the customers matching `search`, their addresses as lines of their own. */
export function bulkCustomersQuery(search: string): string {
  return `{ customers(query: ${JSON.stringify(search)}, sortKey: UPDATED_AT) { edges { node { ${CUSTOMER_FIELDS} addressesV2 { edges { node { ${ADDRESS_FIELDS} } } } } } } }`;
}

/**
 * Starts a bulk query. `groupObjects: false` (the default since 2026-01, said out loud so a
 * change of default cannot change the file's layout): Shopify advises against grouping, which
 * slows the operation and makes a time-out likelier; the reader does not need it.
 */
export const BULK_RUN = `mutation VeriteBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) { bulkOperation { id status createdAt } userErrors { code field message } }
}`;

/** Cancels a bulk operation that ran past `bulkTimeoutMinutes`, so it stops using the shop's capacity. */
export const BULK_CANCEL = `mutation VeriteBulkCancel($id: ID!) {
  bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { field message } }
}`;

/**
 * A bulk operation's state, by id (`currentBulkOperation` is deprecated since 2026-01), with the
 * size of its export (`fileSize`), checked against the free space before it is downloaded.
 */
export const BULK_STATUS = `query VeriteBulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount fileSize url partialDataUrl createdAt completedAt } }
}`;
