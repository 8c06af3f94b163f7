// The operations this server implements: registering one is one entry here (and its module).
import { accessReportOperation } from './access-report.js';
import { auditExportOperation } from './audit-export.js';
import { auditVerifyOperation } from './audit-verify.js';
import { createOperationRegistry } from './registry.js';
import { reindexOperation } from './reindex.js';
import { expandOperation } from './value-set-expand.js';

export const BUILT_IN_OPERATIONS = createOperationRegistry([reindexOperation, accessReportOperation, auditExportOperation, auditVerifyOperation, expandOperation]);
