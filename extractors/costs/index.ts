export { costsSource, unitCostsStream } from './source.ts';
export { mapCostRow, costMapper, missingCostColumns } from './cost-mapping.ts';
