interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A page of a GraphQL connection as verite asks for it (`pageInfo` and `nodes`). */
export interface Connection<T> {
  pageInfo: PageInfo;
  nodes: T[];
}

/**
 * Every node of a nested connection: the first page as it came, then the pages after it, asked
 * for by `next` from the last end cursor. `next` answers null when the parent is gone (deleted
 * meanwhile): what was read is kept.
 */
export async function allNodes<T>(first: Connection<T>, next: (after: string | null) => Promise<Connection<T> | null>): Promise<T[]> {
  const nodes = [...first.nodes];
  let page = first.pageInfo;
  while (page.hasNextPage) {
    const more = await next(page.endCursor);
    if (!more) break;
    nodes.push(...more.nodes);
    page = more.pageInfo;
  }
  return nodes;
}
