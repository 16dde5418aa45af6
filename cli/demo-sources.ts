import { demoConfig, type DemoConfig, type VeriteConfig } from '../config/schema.ts';
import { didYouMean } from '../lib/names.ts';
import { UsageError } from '../lib/errors.ts';
import type { ResolvedSource } from '../pipeline/run.ts';

/** The built-in demo shop as the sources a run reads (`--demo`), with its settings. */
export async function demoResolvedSources(config: VeriteConfig, now: Date): Promise<{ sources: ResolvedSource[]; options: DemoConfig; endDate: string }> {
  const { defaultDemoEndDate, demoSources } = await import('../extractors/demo/index.ts');
  const options = demoConfig.parse(config.sources.demo ?? {});
  const endDate = options.endDate ?? defaultDemoEndDate(now);
  const sources = demoSources({ seed: options.seed, days: options.days, ordersPerDay: options.ordersPerDay, endDate, reportingCurrency: config.reportingCurrency }).map(
    (source) => ({ source, config: options }),
  );
  return { sources, options, endDate };
}

/** One source of the demo shop by name, or a usage error naming the demo's sources. */
export async function demoSourceNamed(config: VeriteConfig, name: string, now: Date): Promise<ResolvedSource> {
  const { sources } = await demoResolvedSources(config, now);
  const found = sources.find((s) => s.source.name === name);
  if (found) return found;
  const names = sources.map((s) => s.source.name);
  throw new UsageError(`the demo shop has no source ${name}${didYouMean(name, names)} (it has ${names.join(', ')})`);
}
