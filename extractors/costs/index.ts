import { registerSource } from '../registry.ts';
import { costsSource } from './source.ts';

registerSource(costsSource);

export { costsSource, unitCostsStream } from './source.ts';
export { mapCostRow, costMapper, missingCostColumns } from './cost-mapping.ts';
