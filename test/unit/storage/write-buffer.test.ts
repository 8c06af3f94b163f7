// src/storage/write-buffer.ts: writes are held and sent together; anything that could see them
// sends them first.
import assert from 'node:assert/strict';
import type { AuditJournalEntry, NewAuditRow } from '../../../src/storage/audit-store.js';
import type { NewVersion, ResourceStore, SearchSql } from '../../../src/storage/resource-store.js';
import { NO_OUTBOX, type OutboxEntry } from '../../../src/storage/outbox-store.js';
import { emptyTerminologyStore } from '../../../src/storage/memory/memory-terminology-store.js';
import { WriteBuffer } from '../../../src/storage/write-buffer.js';

function recorder() {
  const calls: string[] = [];
  const store: ResourceStore = {
    tenantId: 't1',
    readCurrent: async (type, id) => (calls.push(`readCurrent ${type}/${id}`), undefined),
    readVersion: async (type, id) => (calls.push(`readVersion ${type}/${id}`), undefined),
    readCurrentMany: async (type, ids) => {
      calls.push(`readCurrentMany ${type} ${ids.join(',')}`);
      return ids.filter((id) => id !== 'absent').map((id) => ({ resourceType: type, id, versionId: 3, lastUpdated: new Date(0), deleted: false, content: '{}' }));
    },
    writeVersion: async (v) => void calls.push(`writeVersion ${v.resourceType}/${v.id}`),
    writeVersions: async (vs, audit = [], outbox = []) =>
      void calls.push(
        `writeVersions ${vs.map((v) => `${v.resourceType}/${v.id}`).join(',')}${audit.length > 0 ? ` with audit ${audit.map((r) => r.id).join(',')}` : ''}` +
          `${outbox.length > 0 ? ` with outbox ${outbox.map((o) => o.id).join(',')}` : ''}`,
      ),
    lockKeys: async (keys) => void calls.push(`lockKeys ${keys.join(',')}`),
    history: async () => (calls.push('history'), []),
    query: async () => (calls.push('query'), []),
    searchParameters: {
      generation: async () => (calls.push('generation'), '0/ 0/'),
      readState: async () => (calls.push('readState'), { parameters: [], coverage: [] }),
    },
    reindexJobs: {
      create: async (id) => void calls.push(`reindexJobs.create ${id}`),
      find: async (id) => (calls.push(`reindexJobs.find ${id}`), undefined),
      cancel: async (id) => void calls.push(`reindexJobs.cancel ${id}`),
    },
    terminology: emptyTerminologyStore,
    outbox: {
      rulesGeneration: async () => (calls.push('rulesGeneration'), '0'),
      readRules: async () => (calls.push('readRules'), NO_OUTBOX.readRules()),
      append: async (entries) => void calls.push(`outbox.append ${entries.map((o) => o.id).join(',')}`),
    },
    loadLedger: {
      find: async (key) => (calls.push(`loadLedger.find ${key.path}`), undefined),
      progress: async (key) => void calls.push(`loadLedger.progress ${key.path}`),
      complete: async (key) => void calls.push(`loadLedger.complete ${key.path}`),
    },
    audit: {
      appendAuditJournal: async (entries) => void calls.push(`appendAuditJournal ${entries.map((r) => r.id).join(',')}`),
      appendAuditEvents: async (rows) => void calls.push(`appendAuditEvents ${rows.map((r) => r.id).join(',')}`),
      takeAuditJournal: async (limit) => (calls.push(`takeAuditJournal ${limit}`), []),
      oldestAuditJournalEntry: async () => (calls.push('oldestAuditJournalEntry'), undefined),
      readAuditEvent: async (id) => (calls.push(`readAuditEvent ${id}`), undefined),
    },
  };
  return { store, calls };
}

const version = (type: string, id: string, versionId = 1): NewVersion => ({
  resourceType: type, id, versionId, lastUpdated: new Date(0), deleted: false, content: '{}', method: 'POST', status: 201, searchIndex: {},
});

const auditEntry = (id: string): AuditJournalEntry => ({ tenantId: 't1', id, recorded: new Date(0), entry: '{}' });
const auditRow = (id: string): NewAuditRow => ({ tenantId: 't1', id, recorded: new Date(0), content: '{}', sp: null, patients: [] });

const outboxEntry = (id: string): OutboxEntry => ({ id, channel: 'sync', target: 'iis', resourceType: 'Immunization', resourceId: id, versionId: 1, action: 'create' });

describe('WriteBuffer', () => {
  it('holds outbox rows and sends them with the versions (one statement); a held Subscription goes before the rules are read', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store);
    await buffer.writeVersion(version('Immunization', 'a'));
    await buffer.outbox.append([outboxEntry('o1')]);
    await buffer.writeVersion(version('Immunization', 'b'));
    await buffer.outbox.append([outboxEntry('o2')]);
    await buffer.audit.appendAuditJournal([auditEntry('e1')]);
    assert.deepEqual(calls, []);
    await buffer.flush();
    assert.deepEqual(calls, ['writeVersions Immunization/a,Immunization/b with audit e1 with outbox o1,o2']);
    await buffer.outbox.append([outboxEntry('o3')]);
    await buffer.flush();
    assert.deepEqual(calls.slice(1), ['outbox.append o3'], 'alone when no version is held');
    await buffer.writeVersion(version('Immunization', 'c'));
    await buffer.outbox.rulesGeneration();
    assert.deepEqual(calls.slice(2), ['rulesGeneration'], 'an Immunization held does not change the rules');
    await buffer.writeVersion(version('Subscription', 's'));
    await buffer.outbox.readRules();
    assert.deepEqual(calls.slice(3), ['writeVersions Immunization/c,Subscription/s', 'readRules']);
  });


  it('holds audit journal entries and sends them with the versions they record (one statement), and before the trail is read', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store);
    await buffer.writeVersion(version('Patient', 'a'));
    await buffer.audit.appendAuditJournal([auditEntry('e1')]);
    await buffer.writeVersion(version('Patient', 'b'));
    await buffer.audit.appendAuditJournal([auditEntry('e2')]);
    assert.deepEqual(calls, []);
    await buffer.flush();
    assert.deepEqual(calls, ['writeVersions Patient/a,Patient/b with audit e1,e2']);
    // With no versions held, the entries go alone.
    await buffer.audit.appendAuditJournal([auditEntry('e3')]);
    await buffer.audit.readAuditEvent('e3');
    assert.deepEqual(calls.slice(1), ['appendAuditJournal e3', 'readAuditEvent e3']);
    await buffer.audit.appendAuditJournal([auditEntry('e4')]);
    await buffer.query('SELECT 1' as SearchSql, []);
    assert.deepEqual(calls.slice(3), ['appendAuditJournal e4', 'query']);
    // The expander's calls pass through, after what is held.
    await buffer.audit.appendAuditJournal([auditEntry('e5')]);
    await buffer.audit.takeAuditJournal(10);
    await buffer.audit.appendAuditEvents([auditRow('r1')]);
    assert.deepEqual(calls.slice(5), ['appendAuditJournal e5', 'takeAuditJournal 10', 'appendAuditEvents r1']);
  });

  it('appends held audit entries when it holds as many as it may', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store, 2);
    await buffer.audit.appendAuditJournal([auditEntry('e1')]);
    assert.deepEqual(calls, []);
    await buffer.audit.appendAuditJournal([auditEntry('e2')]);
    assert.deepEqual(calls, ['appendAuditJournal e1,e2']);
  });

  it('holds writes and sends them in one writeVersions call on flush', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store);
    await buffer.writeVersion(version('Patient', 'a'));
    await buffer.writeVersion(version('Observation', 'b'));
    assert.deepEqual(calls, []);
    await buffer.flush();
    await buffer.flush();
    assert.deepEqual(calls, ['writeVersions Patient/a,Observation/b']);
  });

  it('sends held writes before a search, a history read or a read of a held resource, not before other reads or locks', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store);
    await buffer.writeVersion(version('Patient', 'a'));
    await buffer.readCurrent('Patient', 'other');
    await buffer.lockKeys(['k']);
    assert.deepEqual(calls, ['readCurrent Patient/other', 'lockKeys k']);
    await buffer.readCurrent('Patient', 'a');
    assert.deepEqual(calls.slice(2), ['writeVersions Patient/a', 'readCurrent Patient/a']);
    await buffer.writeVersion(version('Patient', 'c'));
    await buffer.query('SELECT 1' as SearchSql, []);
    await buffer.writeVersion(version('Patient', 'd'));
    await buffer.history({ count: 1 });
    assert.deepEqual(calls.slice(4), ['writeVersions Patient/c', 'query', 'writeVersions Patient/d', 'history']);
  });

  it('answers reads of prefetched resources from one read per type, once each', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store);
    await buffer.prefetch('Patient', ['a', 'absent']);
    assert.deepEqual(calls, ['readCurrentMany Patient a,absent']);
    assert.equal((await buffer.readCurrent('Patient', 'a'))?.versionId, 3);
    assert.equal(await buffer.readCurrent('Patient', 'absent'), undefined);
    assert.deepEqual(calls, ['readCurrentMany Patient a,absent']);
    await buffer.readCurrent('Patient', 'a'); // handed out already: read again
    assert.deepEqual(calls.slice(1), ['readCurrent Patient/a']);
  });

  it('sends the first write of a resource before holding its second, and flushes when full', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store, 3);
    await buffer.writeVersion(version('Patient', 'a', 1));
    await buffer.writeVersion(version('Patient', 'a', 2));
    assert.deepEqual(calls, ['writeVersions Patient/a']);
    await buffer.writeVersion(version('Patient', 'b'));
    await buffer.writeVersion(version('Patient', 'c'));
    assert.deepEqual(calls, ['writeVersions Patient/a', 'writeVersions Patient/a,Patient/b,Patient/c']);
  });

  it('sends held writes before reading the SearchParameter state only when a SearchParameter is held', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store);
    await buffer.writeVersion(version('Patient', 'a'));
    await buffer.searchParameters.generation();
    await buffer.searchParameters.readState();
    assert.deepEqual(calls, ['generation', 'readState']);
    await buffer.writeVersion(version('SearchParameter', 'sp'));
    await buffer.searchParameters.generation();
    await buffer.writeVersion(version('SearchParameter', 'sp2'));
    await buffer.searchParameters.readState();
    assert.deepEqual(calls.slice(2), ['writeVersions Patient/a,SearchParameter/sp', 'generation', 'writeVersions SearchParameter/sp2', 'readState']);
  });

  it('passes reindex job and load ledger calls through without sending held writes', async () => {
    const { store, calls } = recorder();
    const buffer = new WriteBuffer(store);
    await buffer.writeVersion(version('SearchParameter', 'sp'));
    await buffer.reindexJobs.create('j1', ['Patient']);
    await buffer.reindexJobs.find('j1');
    await buffer.reindexJobs.cancel('j1');
    const key = { path: 'a.ndjson', sizeBytes: 1, sha256: 'x' };
    await buffer.loadLedger.find(key);
    await buffer.loadLedger.progress(key, 1, 1);
    await buffer.loadLedger.complete(key, 1);
    assert.deepEqual(calls, [
      'reindexJobs.create j1', 'reindexJobs.find j1', 'reindexJobs.cancel j1',
      'loadLedger.find a.ndjson', 'loadLedger.progress a.ndjson', 'loadLedger.complete a.ndjson',
    ]);
    await buffer.flush();
    assert.deepEqual(calls.slice(6), ['writeVersions SearchParameter/sp']);
  });
});
