import { allNodes, type Connection } from './connections.ts';
import type { ShopifyGraphql } from './graphql-client.ts';
import { PRODUCT_VARIANTS } from './queries.ts';
import type { GqlProduct, GqlVariant } from './reshape.ts';

/** A Product node of a paged query: its first variants as a connection. */
export type PagedProductNode = Omit<GqlProduct, 'variants'> & { variants: Connection<GqlVariant> };

/** Follows the variants of the products whose first page of variants was not all of them, so a product lands whole. */
export async function completeVariants(client: ShopifyGraphql, nodes: PagedProductNode[]): Promise<GqlProduct[]> {
  const out: GqlProduct[] = [];
  for (const { variants: first, ...node } of nodes) {
    const variants = await allNodes(first, async (after) => {
      const data = await client.query<{ node: { variants: Connection<GqlVariant> } | null }>('product variants', PRODUCT_VARIANTS, { id: node.id, after });
      return data.node?.variants ?? null;
    });
    out.push({ ...node, variants });
  }
  return out;
}
