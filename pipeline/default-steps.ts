import { runTransforms } from '../transforms/runner.ts';
import { registerPostLoadStep } from './steps.ts';
import { metricsStep } from '../metrics/step.ts';
import { clvStep } from '../metrics/clv/step.ts';

/**
 * Registers the steps every `verite run` takes after loading: the transforms, the metrics
 * refresh, then the CLV fit when the orders changed. Imported by the command line.
 */
registerPostLoadStep({
  name: 'transform',
  run: async (warehouse, config, log, progress) => {
    const result = await runTransforms(warehouse, config, { log, progress });
    const built = result.results.filter((r) => r.status === 'succeeded').length;
    if (result.status !== 'succeeded') return { status: 'failed', summary: result.error ?? 'failed', error: result };
    const setAside = result.setAside.reduce((n, s) => n + s.count, 0);
    const aside = setAside ? `; ${setAside} record${setAside === 1 ? '' : 's'} set aside (verite quarantine list)` : '';
    return { status: 'succeeded', summary: `${built} models built, ${result.checks.length} data checks passed${aside}`, warnings: result.warnings };
  },
});

// After the transforms: the metric tables are built from core.
registerPostLoadStep(metricsStep);

// After the refresh: the predicted-CLV models, fitted again when the orders changed.
registerPostLoadStep(clvStep);
