// The parameter-type modules by FHIR search parameter type (search.html#ptypes).
// special: only Location `near` (near.ts); other special parameters are refused by it as unsupported.
import type { ParamTypeModule, SearchParamType } from '../types.js';
import { COMPONENT_MODULES, compositeParam } from './composite.js';
import { nearParam } from './near.js';

const MODULES: Partial<Record<SearchParamType, ParamTypeModule>> = {
  ...COMPONENT_MODULES,
  composite: compositeParam as ParamTypeModule,
  special: nearParam as ParamTypeModule,
};

export function moduleFor(type: SearchParamType): ParamTypeModule | undefined {
  return MODULES[type];
}
