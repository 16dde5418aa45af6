/**
 * Predicted customer value: the BG/NBD and Gamma-Gamma models (their likelihoods, fits and
 * per-customer predictions), the numerics they need (ln Γ, digamma, Gauss's 2F1, BFGS), and
 * the fit on the warehouse's counted orders with the run's step that makes it.
 */
export { fitClv, fitNotes, ClvFitError, type ClvFitOptions, type ClvFitResult, type ClvModel, type HoldoutCheck } from './fit.ts';
export { clvStep } from './step.ts';
export {
  bgNbdLogLikelihood,
  bgNbdTotalLogLikelihood,
  fitBgNbd,
  probabilityAlive,
  expectedPurchasesIfAlive,
  conditionalExpectedPurchases,
  type BgNbdParameters,
  type BgNbdFit,
} from './bg-nbd.ts';
export {
  gammaGammaLogLikelihood,
  gammaGammaTotalLogLikelihood,
  fitGammaGamma,
  conditionalExpectedSpend,
  populationMeanSpend,
  spendGroups,
  type GammaGammaParameters,
  type GammaGammaFit,
  type SpendGroups,
  type SpendHistory,
} from './gamma-gamma.ts';
export { discountedExpectedPurchases, predictedClv12m, predictGroups, type GroupPredictions } from './customer-value.ts';
export { groupHistories, historyGroups, type HistoryGroups, type PurchaseHistory } from './history-groups.ts';
export { hypergeometric2F1 } from './hypergeometric.ts';
export { logGamma, gammaSign, digamma } from './gamma-function.ts';
export { minimize, type MinimizeOptions, type MinimizeResult } from './bfgs.ts';
export { simulateCustomers, type SimulatedCustomer } from './simulate.ts';
