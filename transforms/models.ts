import type { Model } from './model.ts';
import { stagingShopifyOrders } from './staging/shopify-orders.ts';
import { stagingShopifyOrderLines } from './staging/shopify-order-lines.ts';
import { stagingShopifyRefunds } from './staging/shopify-refunds.ts';
import { stagingShopifyCustomers } from './staging/shopify-customers.ts';
import { stagingShopifyDeletions } from './staging/shopify-deletions.ts';
import { stagingStripeCharges } from './staging/stripe-charges.ts';
import { stagingStripeRefunds } from './staging/stripe-refunds.ts';
import { stagingGa4Traffic } from './staging/ga4-traffic.ts';
import { stagingGoogleAdsCampaigns } from './staging/google-ads-campaigns.ts';
import { stagingMetaAdsCampaigns } from './staging/meta-ads-campaigns.ts';
import { stagingShipments } from './staging/shipments.ts';
import { stagingFxRates } from './staging/fx-rates.ts';
import { stagingShopifyRefundLines } from './staging/shopify-refund-lines.ts';
import { stagingShopifyRefundShippingLines } from './staging/shopify-refund-shipping-lines.ts';
import { stagingShopifyProducts } from './staging/shopify-products.ts';
import { stagingShopifyProductVariants } from './staging/shopify-product-variants.ts';
import { stagingShopifyInventoryLevels } from './staging/shopify-inventory-levels.ts';
import { stagingStripeBalanceTransactions } from './staging/stripe-balance-transactions.ts';
import { stagingCostsUnitCosts } from './staging/costs-unit-costs.ts';
import { coreFxRates } from './core/fx-rates.ts';
import { coreOrders } from './core/orders.ts';
import { coreOrderLines } from './core/order-lines.ts';
import { coreRefunds } from './core/refunds.ts';
import { coreCustomers } from './core/customers.ts';
import { corePayments } from './core/payments.ts';
import { coreSpend } from './core/spend.ts';
import { coreTraffic } from './core/traffic.ts';
import { coreShipments } from './core/shipments.ts';
import { coreRefundLines } from './core/refund-lines.ts';
import { coreRefundShippingLines } from './core/refund-shipping-lines.ts';
import { coreProducts } from './core/products.ts';
import { coreProductVariants } from './core/product-variants.ts';
import { coreInventoryLevels } from './core/inventory-levels.ts';
import { coreBalanceTransactions } from './core/balance-transactions.ts';

/** Every model, staging first; the runner orders them by their dependencies. */
export const models: readonly Model[] = [
  stagingShopifyOrders,
  stagingShopifyOrderLines,
  stagingShopifyRefunds,
  stagingShopifyCustomers,
  stagingShopifyDeletions,
  stagingStripeCharges,
  stagingStripeRefunds,
  stagingGa4Traffic,
  stagingGoogleAdsCampaigns,
  stagingMetaAdsCampaigns,
  stagingShipments,
  stagingFxRates,
  stagingShopifyRefundLines,
  stagingShopifyRefundShippingLines,
  stagingShopifyProducts,
  stagingShopifyProductVariants,
  stagingShopifyInventoryLevels,
  stagingStripeBalanceTransactions,
  stagingCostsUnitCosts,
  coreFxRates,
  coreOrders,
  coreOrderLines,
  coreRefunds,
  coreCustomers,
  corePayments,
  coreSpend,
  coreTraffic,
  coreShipments,
  coreRefundLines,
  coreRefundShippingLines,
  coreProducts,
  coreProductVariants,
  coreInventoryLevels,
  coreBalanceTransactions,
];
