import { clvStep } from '../metrics/clv/step.ts';
import { metricsRefreshStep, metricsStep } from '../metrics/step.ts';
import type { BuildMode } from '../transforms/incremental.ts';
import { runTransforms } from '../transforms/runner.ts';
import type { PostLoadStep } from '../warehouse/post-load-step.ts';

export type { PostLoadStep, StepOutcome } from '../warehouse/post-load-step.ts';

/** What the transform step's summary says of the models built each way, in this order: rebuilt (in full, or whole and compared with their last build), from their changes, or left alone. */
const HOW_BUILT: readonly (readonly [readonly BuildMode[], string])[] = [
  [['full', 'diff'], 'rebuilt whole'],
  [['incremental'], 'brought up to date from their changes'],
  [['skip'], 'unchanged'],
];

/** The transforms as a step: staging and core brought up to date (or rebuilt, `full`), their data checks run. */
const transformStep: PostLoadStep = {
  name: 'transform',
  run: async (warehouse, config, log, progress, options) => {
    const result = await runTransforms(warehouse, config, { log, progress, full: options?.full, beforeCommit: options?.beforeCommit });
    const built = result.results.filter((r) => r.status === 'succeeded').length;
    if (result.status !== 'succeeded') return { status: 'failed', summary: result.error ?? 'failed', error: result };
    const setAside = result.setAside.reduce((n, s) => n + s.count, 0);
    const aside = setAside ? `; ${setAside} record${setAside === 1 ? '' : 's'} set aside (verite quarantine list)` : '';
    // How the models were brought up to date, unless every one was rebuilt (the first build, `--full`, the weekly full rebuild).
    const how = HOW_BUILT.map(([modes, words]) => [result.results.filter((r) => r.status === 'succeeded' && r.mode && modes.includes(r.mode)).length, words] as const)
      .filter(([n]) => n > 0)
      .map(([n, words]) => `${n} ${words}`);
    const everyOneRebuilt = how.length === 0 || (how.length === 1 && how[0]?.endsWith(' rebuilt whole'));
    const models = everyOneRebuilt ? `${built} models built` : `${built} models (${how.join(', ')})`;
    // How the build went when not as usual (in one process, short of shared memory) is said in its summary, as the refresh's warnings are.
    const summary = [`${models}, ${result.checks.length} data checks passed${aside}`, ...result.notes].join('; ');
    return { status: 'succeeded', summary, warnings: result.warnings, ...(result.silenced ? { silenced: result.silenced } : {}) };
  },
};

/**
 * The steps every run takes after loading, in order: the transforms, the metrics refresh (the
 * metric tables are built from core), then the predicted-CLV models (fitted again when the
 * orders changed). A run, a backfill and the scheduler take this list unless given their own.
 */
const steps: readonly PostLoadStep[] = Object.freeze([transformStep, metricsStep, clvStep]);

/**
 * The steps run after every `verite run`, in order (see {@link steps}). `full`: the metrics
 * refresh rebuilds every table in full instead of only what the transform replaced (`--full`).
 */
export function postLoadSteps(options: { full?: boolean } = {}): readonly PostLoadStep[] {
  if (options.full) return Object.freeze([transformStep, metricsRefreshStep({ full: true }), clvStep]);
  return steps;
}
