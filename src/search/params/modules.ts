// The parameter-type modules by FHIR search parameter type (search.html#ptypes).
// special (Location near) is not implemented; such parameters are reported as unsupported.
import type { ParamTypeModule, SearchParamType } from '../types.js';
import { COMPONENT_MODULES, compositeParam } from './composite.js';

const MODULES: Partial<Record<SearchParamType, ParamTypeModule>> = {
  ...COMPONENT_MODULES,
  composite: compositeParam as ParamTypeModule,
};

export function moduleFor(type: SearchParamType): ParamTypeModule | undefined {
  return MODULES[type];
}
