import { z } from 'zod';

/**
 * The keys every source's config entry has (`enabled`, `startDate`, `lookbackDays`), read from
 * an entry of any source: the run, the check and the extraction need them without knowing which
 * source's schema the entry has. An entry without them (the demo shop's) has none.
 */
const settings = z.object({
  enabled: z.boolean().optional(),
  startDate: z.string().optional(),
  lookbackDays: z.number().optional(),
});

export type SourceSettings = z.output<typeof settings>;

export function sourceSettings(entry: unknown): SourceSettings {
  const parsed = settings.safeParse(entry);
  return parsed.success ? parsed.data : {};
}
