export { runModels, runTransforms, orderModels, transformContext, ModelCycleError, ModelDependencyError, type TransformResult, type ModelResult, type CheckResult } from './runner.ts';
export { defineModel, type Model, type DataCheck, type TransformContext } from './model.ts';
export { models } from './models.ts';
export { defaultChannelRules, channelExpression, FALLBACK_CHANNEL } from './channels.ts';
