// The parameter-type modules by FHIR search parameter type (search.html#ptypes).
// special (Location near) is not implemented; such parameters are reported as unsupported.
import type { ParamTypeModule, SearchParamType } from '../types.js';
import { compositeParam } from './composite.js';
import { dateParam } from './date.js';
import { numberParam } from './number.js';
import { quantityParam } from './quantity.js';
import { referenceParam } from './reference.js';
import { stringParam } from './string.js';
import { tokenParam } from './token.js';
import { uriParam } from './uri.js';

const MODULES: Partial<Record<SearchParamType, ParamTypeModule>> = {
  token: tokenParam as ParamTypeModule,
  reference: referenceParam as ParamTypeModule,
  uri: uriParam as ParamTypeModule,
  string: stringParam as ParamTypeModule,
  date: dateParam as ParamTypeModule,
  number: numberParam as ParamTypeModule,
  quantity: quantityParam as ParamTypeModule,
  composite: compositeParam as ParamTypeModule,
};

export function moduleFor(type: SearchParamType): ParamTypeModule | undefined {
  return MODULES[type];
}
