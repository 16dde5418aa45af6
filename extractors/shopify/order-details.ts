import { allNodes, type Connection } from './connections.ts';
import type { ShopifyGraphql } from './graphql-client.ts';
import { ORDER_LINE_ITEMS, REFUND_MORE_LINE_ITEMS, REFUND_MORE_SHIPPING_LINES, REFUND_MORE_TRANSACTIONS, REFUND_TRANSACTIONS, REFUNDS_PER_QUERY } from './queries.ts';
import type { GqlLineItem, GqlOrder, GqlRefund, GqlRefundLineItem, GqlRefundShippingLine, GqlTransaction } from './reshape.ts';

/** An Order node of a paged query: its first line items as a connection, refunds without transactions. */
export type PagedOrderNode = Omit<GqlOrder, 'lineItems' | 'refunds'> & {
  lineItems: Connection<GqlLineItem>;
  refunds?: Omit<GqlRefund, 'transactions' | 'refundLineItems' | 'refundShippingLines'>[] | null;
};

/** An Order with every line item but refunds still without their transactions (a bulk line, or a completed page node). */
export type OrderWithoutTransactions = Omit<GqlOrder, 'refunds'> & { refunds?: Omit<GqlRefund, 'transactions' | 'refundLineItems' | 'refundShippingLines'>[] | null };

/**
 * Follows the line items of the orders whose first page of line items was not all of them,
 * so a large order lands whole.
 */
export async function completeLineItems(client: ShopifyGraphql, nodes: PagedOrderNode[]): Promise<OrderWithoutTransactions[]> {
  const out: OrderWithoutTransactions[] = [];
  for (const node of nodes) {
    const items = await allNodes(node.lineItems, async (after) => {
      const data = await client.query<{ node: { lineItems: Connection<GqlLineItem> } | null }>('order line items', ORDER_LINE_ITEMS, { id: node.id, after });
      return data.node?.lineItems ?? null;
    });
    out.push({ ...node, lineItems: items });
  }
  return out;
}

/**
 * Gives every refund of the orders its transactions (what says whether money went back, how
 * much and in which currency), its line items (which units came back) and its shipping lines
 * (the shipping paid back, with its tax), asked for by refund id, ten refunds a query. Orders
 * without refunds cost nothing.
 */
export async function withRefundTransactions(client: ShopifyGraphql, orders: OrderWithoutTransactions[]): Promise<GqlOrder[]> {
  const ids = orders.flatMap((o) => (o.refunds ?? []).map((r) => r.id));
  const found = new Map<string, { transactions: GqlTransaction[]; refundLineItems: GqlRefundLineItem[]; refundShippingLines: GqlRefundShippingLine[] }>();
  for (let i = 0; i < ids.length; i += REFUNDS_PER_QUERY) {
    const chunk = ids.slice(i, i + REFUNDS_PER_QUERY);
    const data = await client.query<{
      nodes: ({
        id: string;
        transactions: Connection<GqlTransaction>;
        refundLineItems: Connection<GqlRefundLineItem>;
        refundShippingLines: Connection<GqlRefundShippingLine>;
      } | null)[];
    }>('refund transactions', REFUND_TRANSACTIONS, { ids: chunk });
    for (const refund of data.nodes) {
      if (!refund) continue;
      const transactions = await allNodes(refund.transactions, async (after) => {
        const more = await client.query<{ node: { transactions: Connection<GqlTransaction> } | null }>('more refund transactions', REFUND_MORE_TRANSACTIONS, { id: refund.id, after });
        return more.node?.transactions ?? null;
      });
      const refundLineItems = await allNodes(refund.refundLineItems, async (after) => {
        const more = await client.query<{ node: { refundLineItems: Connection<GqlRefundLineItem> } | null }>('more refund line items', REFUND_MORE_LINE_ITEMS, {
          id: refund.id,
          after,
        });
        return more.node?.refundLineItems ?? null;
      });
      const refundShippingLines = await allNodes(refund.refundShippingLines, async (after) => {
        const more = await client.query<{ node: { refundShippingLines: Connection<GqlRefundShippingLine> } | null }>('more refund shipping lines', REFUND_MORE_SHIPPING_LINES, {
          id: refund.id,
          after,
        });
        return more.node?.refundShippingLines ?? null;
      });
      found.set(refund.id, { transactions, refundLineItems, refundShippingLines });
    }
  }
  return orders.map((o) => ({
    ...o,
    refunds: (o.refunds ?? []).map((r) => {
      const details = found.get(r.id);
      return { ...r, transactions: details?.transactions ?? [], refundLineItems: details?.refundLineItems ?? [], refundShippingLines: details?.refundShippingLines ?? [] };
    }),
  }));
}
