import type { PostLoadStep } from '../../warehouse/post-load-step.ts';
import { fitClv } from './fit.ts';

const fixed = (v: number, digits: number) => v.toFixed(digits);

/**
 * The CLV fit as the step a run takes after the metrics refresh: the models are fitted again
 * when the counted orders changed since the last fit as of the last order's date (docs/metrics.md,
 * "Predicted customer value"), and the predicted-CLV tables rebuilt. A shop with too few repeat
 * customers, unchanged orders or `clv.enabled: false` gets a note instead, and the step
 * succeeds: a run's data is not in question when a prediction cannot be made. A fit that
 * fails (a model that does not converge, a write the warehouse refuses, the tables it rebuilds)
 * fails the step and keeps nothing, so the next run fits again.
 */
export const clvStep: PostLoadStep = {
  name: 'clv',
  run: async (warehouse, config, log, _progress, options) => {
    if (!config.clv.enabled) return { status: 'succeeded', summary: 'not fitted: clv.enabled is false in the configuration' };
    const result = await fitClv(warehouse, config, { onlyWhenOrdersChanged: true, log, beforeCommit: options?.beforeCommit });
    if (result.status === 'skipped') return { status: 'succeeded', summary: result.reason };
    const { model } = result;
    const { r, alpha, a, b } = model.bgNbd;
    const { p, q, gamma } = model.gammaGamma;
    return {
      status: 'succeeded',
      summary:
        `fitted as of ${model.calibrationEnd} on ${model.customers.toLocaleString('en-US')} customers (${model.repeatCustomers.toLocaleString('en-US')} repeat): ` +
        `BG/NBD r ${fixed(r, 3)}, alpha ${fixed(alpha, 3)}, a ${fixed(a, 3)}, b ${fixed(b, 3)}; Gamma-Gamma p ${fixed(p, 2)}, q ${fixed(q, 2)}, gamma ${fixed(gamma, 2)}` +
        model.notes.map((note) => `; note: ${note}`).join(''),
    };
  },
};
