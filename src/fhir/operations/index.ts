// The operations this server implements: registering one is one entry here (and its module).
import { auditExportOperation } from './audit-export.js';
import { auditVerifyOperation } from './audit-verify.js';
import { createOperationRegistry } from './registry.js';
import { reindexOperation } from './reindex.js';

export const BUILT_IN_OPERATIONS = createOperationRegistry([reindexOperation, auditExportOperation, auditVerifyOperation]);
