// The release formats `hearth terminology import` reads (docs/terminology-import.md), by name.
import { cvxSource } from './cvx.js';
import { icd10cmSource } from './icd10cm.js';
import { loincSource } from './loinc.js';
import { rxnormSource } from './rxnorm.js';
import { snomedSource } from './snomed.js';
import type { CodeSystemSource } from './source.js';

export const CODE_SYSTEM_FORMATS: Record<string, (paths: readonly string[]) => Promise<CodeSystemSource>> = {
  loinc: loincSource,
  snomed: snomedSource,
  icd10cm: icd10cmSource,
  rxnorm: rxnormSource,
  cvx: cvxSource,
};

export const IMPORT_FORMATS = [...Object.keys(CODE_SYSTEM_FORMATS), 'fhir'];
