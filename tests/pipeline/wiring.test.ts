import { describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.ts';
import { resolveSources } from '../../pipeline/run.ts';
import { postLoadSteps } from '../../pipeline/steps.ts';

/**
 * A library caller imports what it calls and nothing else: the sources and the steps of a run
 * are explicit objects, not registries filled by modules imported for their side effects. This
 * file imports no extractor and no step module itself.
 */
describe('explicit wiring', () => {
  it('a run knows its post-load steps without the command line imported: transform, metrics, clv, in that order', () => {
    expect(postLoadSteps().map((s) => s.name)).toEqual(['transform', 'metrics', 'clv']);
  });

  it('resolves a configured source to its extractor without any extractor imported by the caller', () => {
    const config = configSchema.parse({ sources: { stripe: {}, fx: { path: 'rates.csv' }, shopify: { shop: 'x.myshopify.com', enabled: false } } });
    const resolved = resolveSources(config);
    // Config order; the disabled shopify entry is left out.
    expect(resolved.map((r) => r.source.name)).toEqual(['stripe', 'fx']);
    expect(resolved.map((r) => r.source.streams.map((s) => s.name))).toEqual([['charges', 'refunds', 'balance_transactions'], ['rates']]);
    expect(resolved[1]!.config).toMatchObject({ path: 'rates.csv' });
  });
});
