import type { Source } from './types.ts';

/**
 * The real sources, by the name their config entry has. Each extractor folder registers its
 * source here; the demo shop stands in for all of them with `--demo`.
 */
const registered = new Map<string, Source<any>>();

export function registerSource(source: Source<any>): void {
  registered.set(source.name, source);
}

export function registeredSource(name: string): Source<any> | undefined {
  return registered.get(name);
}

export function registeredSources(): Source<any>[] {
  return [...registered.values()];
}
