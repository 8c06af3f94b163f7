// The operations this server implements: registering one is one entry here (and its module).
import { accessReportOperation } from './access-report.js';
import { auditExportOperation } from './audit-export.js';
import { auditVerifyOperation } from './audit-verify.js';
import { codeSystemLookupOperation } from './code-system-lookup.js';
import { codeSystemSubsumesOperation } from './code-system-subsumes.js';
import { conceptMapTranslateOperation } from './concept-map-translate.js';
import { createOperationRegistry } from './registry.js';
import { reindexOperation } from './reindex.js';
import { validateOperation } from './resource-validate.js';
import { validateCodeOperation } from './validate-code.js';
import { expandOperation } from './value-set-expand.js';

export const BUILT_IN_OPERATIONS = createOperationRegistry([reindexOperation, accessReportOperation, auditExportOperation, auditVerifyOperation, expandOperation,
  codeSystemLookupOperation, codeSystemSubsumesOperation, validateCodeOperation, conceptMapTranslateOperation, validateOperation]);
