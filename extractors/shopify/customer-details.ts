import { allNodes, type Connection } from './connections.ts';
import type { ShopifyGraphql } from './graphql-client.ts';
import { CUSTOMER_ADDRESSES } from './queries.ts';
import type { GqlCustomer, GqlMailingAddress } from './reshape.ts';

/** A Customer node of a paged query: its first addresses as a connection. */
export type PagedCustomerNode = Omit<GqlCustomer, 'addresses'> & { addressesV2: Connection<GqlMailingAddress> };

/**
 * Follows the address books of the customers whose first page of addresses was not all of
 * them, so every customer lands with every address.
 */
export async function completeAddresses(client: ShopifyGraphql, nodes: PagedCustomerNode[]): Promise<GqlCustomer[]> {
  const out: GqlCustomer[] = [];
  for (const { addressesV2, ...node } of nodes) {
    const addresses = await allNodes(addressesV2, async (after) => {
      const data = await client.query<{ node: { addressesV2: Connection<GqlMailingAddress> } | null }>('customer addresses', CUSTOMER_ADDRESSES, { id: node.id, after });
      return data.node?.addressesV2 ?? null;
    });
    out.push({ ...node, addresses });
  }
  return out;
}
