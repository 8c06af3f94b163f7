// A read that records itself (TenantWorkOptions.appendsAudit; docs/adr/0018-reads-commit-their-audit-entry.md)
// in the memory repository, as on PostgreSQL: its audit journal entry commits with it, and it
// still cannot write a resource. A read that does not record stays read-only for the journal too.
import assert from 'node:assert/strict';
import { MemoryRepository } from '../../src/storage/memory/memory-repository.js';

const entry = (id: string) => ({ tenantId: 'default', id, recorded: new Date(), entry: '{}' });
const version = { resourceType: 'Patient', id: 'p1', versionId: 1, lastUpdated: new Date(), deleted: false, content: '{"resourceType":"Patient","id":"p1"}', method: 'PUT' as const, status: 201, searchIndex: null };

describe('memory repository: a read that appends its audit entry', () => {
  it('commits the entry with the read', async () => {
    const repository = new MemoryRepository();
    await repository.withTenant('default', (store) => store.audit.appendAuditJournal([entry('r1')]), { readOnly: true, appendsAudit: true });
    const oldest = await repository.withTenant('default', (store) => store.audit.oldestAuditJournalEntry(), { readOnly: true });
    assert.ok(oldest instanceof Date, 'the entry is in the journal');
  });

  it('still refuses a resource write', async () => {
    const repository = new MemoryRepository();
    await assert.rejects(repository.withTenant('default', (store) => store.writeVersion(version), { readOnly: true, appendsAudit: true }), /read-only transaction/);
  });

  it('a read that does not record refuses the entry too', async () => {
    const repository = new MemoryRepository();
    await assert.rejects(repository.withTenant('default', (store) => store.audit.appendAuditJournal([entry('r2')]), { readOnly: true }), /read-only transaction/);
  });
});
