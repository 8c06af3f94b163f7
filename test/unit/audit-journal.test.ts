// The audit journal (docs/adr/0016-audit-journal.md): an entry holds the builder's input whole, so
// the AuditEvents expanded from it are the ones the request path would have built; which
// interactions read the trail (and so expand it first); and the expander's passes — one at a time
// per tenant, a drain asked for during a pass gets a pass of its own, nothing is taken twice, and
// a failed pass leaves its entries in the journal.
import assert from 'node:assert/strict';
import { buildAuditEvents } from '../../src/audit/balp/index.js';
import { auditInputOf, expandJournalEntries, journalEntryOf } from '../../src/audit/journal.js';
import { AuditJournalExpander } from '../../src/audit/journal-expander.js';
import { expandsJournalFirst, readsTrail } from '../../src/audit/reads-trail.js';
import type { InteractionTarget } from '../../src/fhir/hooks.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import type { NewAuditRow, TakenJournalEntry } from '../../src/storage/audit-store.js';
import { WriteConflict, type FhirRepository, type ResourceStore } from '../../src/storage/resource-store.js';
import { searchInput } from '../support/audit-input.js';

const input = searchInput;

describe('audit journal entries', () => {
  it('hold the builder input whole: the expanded events are the ones the request path would build', () => {
    for (const original of [
      input(),
      input({ event: { kind: 'rest', interaction: 'create', bundleEntry: { bundleType: 'transaction', index: 2 } }, entities: [{ reference: 'Observation/o', versionId: 4 }], patients: ['Patient/9'] }),
      input({ event: { kind: 'rest', interaction: 'delete' }, outcome: { status: 403, code: 'forbidden' }, entities: [{ reference: 'Patient/1' }], patients: [] }),
      (({ request: _r, patients: _p, ...rest }) => rest)(input({ event: { kind: 'security', event: 'login-failed' }, outcome: { status: 401, code: 'security' }, caller: { subject: 'anonymous' } })),
    ]) {
      const entry = journalEntryOf('t1', original);
      assert.equal(entry.tenantId, 't1');
      assert.equal(entry.recorded.getTime(), original.recorded.getTime());
      assert.match(entry.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(auditInputOf(entry.entry), original);
      const ids = (n: number) => { let i = 0; return () => `id-${n}-${i++}`; };
      const direct = buildAuditEvents(original, { newId: ids(1) });
      const expanded = buildAuditEvents(auditInputOf(entry.entry), { newId: ids(1) });
      assert.deepEqual(expanded, direct);
    }
  });

  it('expand a search of three patients to one record and a row per patient (ADR 0017), with their patients and search index', () => {
    const entry = journalEntryOf('t1', input());
    const index = () => ({ type: ['shared'], patient: ['own'], 'entity:identifier': ['own'] });
    const rows = expandJournalEntries('t1', [{ id: entry.id, recorded: entry.recorded, entry: entry.entry }], index);
    assert.equal(rows.length, 4, 'a record and three patient rows');
    const [record, ...patientRows] = rows;
    assert.deepEqual(record.patients, ['Patient/1', 'Patient/2', 'Patient/3']);
    assert.deepEqual(record.sp, { type: ['shared'] });
    assert.equal(JSON.parse(record.content).recorded, '2026-12-05T10:00:00.041Z');
    assert.deepEqual(patientRows.map((r) => r.patients), [['Patient/1'], ['Patient/2'], ['Patient/3']]);
    for (const row of rows) {
      assert.equal(row.tenantId, 't1');
      assert.equal(row.recorded.getTime(), entry.recorded.getTime());
    }
    for (const row of patientRows) {
      assert.deepEqual(row.sp, { patient: ['own'], 'entity:identifier': ['own'] });
      assert.equal(JSON.parse(row.content).record, record.id);
    }
    assert.equal(new Set(rows.map((r) => r.id)).size, 4);
  });

  it('refuse an entry that is not a builder input, or whose instants are not instants', () => {
    assert.throws(() => auditInputOf('{"hello":1}'), /not an AuditEvent builder input/);
    const bad = JSON.parse(journalEntryOf('t1', input()).entry);
    bad.recorded = 'yesterday';
    assert.throws(() => auditInputOf(JSON.stringify(bad)), /recorded is not an instant/);
  });
});

describe('readsTrail', () => {
  const q = (query = '') => ({ query: new URLSearchParams(query), rawQuery: query });
  const cases: [InteractionTarget, string, boolean][] = [
    [{ interaction: 'read', resourceType: 'AuditEvent', id: 'x' }, '', true],
    [{ interaction: 'search-type', resourceType: 'AuditEvent' }, 'patient=Patient/1', true],
    [{ interaction: 'operation', resourceType: 'AuditEvent', operation: 'export-ndjson' }, '', true],
    [{ interaction: 'operation', resourceType: 'Patient', id: '1', operation: 'access-report' }, '', true],
    [{ interaction: 'search-system' }, '', true],
    [{ interaction: 'search-system', resourceTypes: ['AuditEvent', 'Patient'] }, '_type=AuditEvent,Patient', true],
    [{ interaction: 'search-system', resourceTypes: ['Patient'] }, '_type=Patient', false],
    [{ interaction: 'history-system' }, '', true],
    [{ interaction: 'search-type', resourceType: 'Patient' }, '_revinclude=AuditEvent:patient', true],
    [{ interaction: 'search-type', resourceType: 'Patient' }, '_has:AuditEvent:patient:action=R', true],
    [{ interaction: 'search-type', resourceType: 'Patient' }, 'name=Smith', false],
    [{ interaction: 'read', resourceType: 'Patient', id: '1' }, '', false],
    [{ interaction: 'create', resourceType: 'Observation' }, '', false],
    [{ interaction: 'operation', resourceType: 'Patient', operation: 'reindex' }, '', false],
  ];
  for (const [target, query, expected] of cases) {
    it(`${expected ? 'reads' : 'does not read'} the trail: ${target.interaction} ${target.resourceType ?? ''}${target.operation ? ` $${target.operation}` : ''}${query ? `?${query}` : ''}`, () => {
      assert.equal(readsTrail(q(query), target), expected);
    });
  }
  it('expands first for a batch entry, not for a transaction entry (it holds a connection; waiting for another could exhaust the pool)', () => {
    const target: InteractionTarget = { interaction: 'search-type', resourceType: 'AuditEvent' };
    assert.equal(expandsJournalFirst({ ...q(), bundleEntry: { bundleType: 'batch', index: 0 } }, target), true);
    assert.equal(expandsJournalFirst({ ...q(), bundleEntry: { bundleType: 'transaction', index: 0 } }, target), false);
    assert.equal(expandsJournalFirst(q(), target), true);
    assert.equal(expandsJournalFirst(q(), { interaction: 'read', resourceType: 'Patient', id: '1' }), false);
  });
  it('sees parameters a POST _search sent in its body (they are in query, not in rawQuery)', () => {
    const request = { query: new URLSearchParams('_revinclude=AuditEvent:patient'), rawQuery: '' };
    assert.equal(readsTrail(request, { interaction: 'search-type', resourceType: 'Patient' }), true);
  });
});

/** A journal of `count` entries and a repository whose transactions take from it. */
function fakeJournal(count: number, options: { failAppend?: () => boolean; conflict?: () => boolean } = {}) {
  const base = Date.now() - 60_000; // recorded before the passes begin
  let journal: TakenJournalEntry[] = Array.from({ length: count }, (_, i) => {
    const e = journalEntryOf('t1', input({ recorded: new Date(base + i), patients: [`Patient/${i}`] }));
    return { id: e.id, recorded: e.recorded, entry: e.entry };
  });
  const trail: NewAuditRow[] = [];
  let inTransaction = 0;
  let maxConcurrent = 0;
  const repository: Pick<FhirRepository, 'withTenant'> = {
    async withTenant(_tenantId, work) {
      inTransaction++;
      maxConcurrent = Math.max(maxConcurrent, inTransaction);
      const taken: TakenJournalEntry[] = [];
      const appended: NewAuditRow[] = [];
      const store = {
        audit: {
          takeAuditJournal: async (limit: number) => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            const batch = journal.slice(0, limit);
            journal = journal.slice(batch.length);
            taken.push(...batch);
            return batch;
          },
          appendAuditEvents: async (rows: readonly NewAuditRow[]) => void appended.push(...rows),
          oldestAuditJournalEntry: async () => (journal.length > 0 ? new Date(Math.min(...journal.map((e) => e.recorded.getTime()))) : undefined),
        },
      } as unknown as ResourceStore;
      try {
        const result = await work(store);
        if (options.failAppend?.()) throw new Error('trail unavailable');
        if (options.conflict?.()) throw new WriteConflict('deadlock detected');
        trail.push(...appended);
        return result;
      } catch (error) {
        journal = [...taken, ...journal]; // rolled back: the entries are still there
        throw error;
      } finally {
        inTransaction--;
      }
    },
  };
  return { repository, trail, pending: () => journal.length, add: (n: number) => {
    for (let i = 0; i < n; i++) {
      const e = journalEntryOf('t1', input({ recorded: new Date(base + count + i), patients: [`Patient/x${i}`] }));
      journal.push({ id: e.id, recorded: e.recorded, entry: e.entry });
    }
  }, maxConcurrent: () => maxConcurrent };
}

describe('AuditJournalExpander', () => {
  const registry = createSearchRegistry();

  it('drains a tenant in batches, each entry once, its events indexed', async () => {
    const fake = fakeJournal(25);
    const expander = new AuditJournalExpander({ repository: fake.repository, registry, batchSize: 10, intervalMs: 0 });
    assert.equal(await expander.drain('t1'), 25);
    assert.equal(fake.pending(), 0);
    assert.equal(fake.trail.length, 25, 'one event per entry (each names one patient)');
    assert.ok(fake.trail.every((r) => r.sp && Object.keys(r.sp).length > 5), 'indexed for the auditors\' searches');
  }).timeout(20_000);

  it('runs one pass at a time per tenant; a drain asked for during a pass gets a pass after it, which sees later entries', async () => {
    const fake = fakeJournal(30);
    const expander = new AuditJournalExpander({ repository: fake.repository, registry, batchSize: 5, intervalMs: 0 });
    const first = expander.drain('t1');
    fake.add(4); // committed while the first pass runs
    const second = expander.drain('t1');
    const third = expander.drain('t1'); // shares the queued pass
    const [a, b, c] = await Promise.all([first, second, third]);
    assert.equal(fake.maxConcurrent(), 1);
    assert.equal(b, c);
    assert.equal(a + b, 34);
    assert.equal(fake.pending(), 0);
    assert.equal(new Set(fake.trail.map((r) => r.id)).size, fake.trail.length);
  }).timeout(20_000);

  it('takes a batch again when another expander deadlocked it (its entries rolled back into the journal)', async () => {
    let conflicts = 2;
    const fake = fakeJournal(12, { conflict: () => conflicts-- > 0 });
    const expander = new AuditJournalExpander({ repository: fake.repository, registry, batchSize: 5, intervalMs: 0 });
    assert.equal(await expander.drain('t1'), 12);
    assert.equal(fake.pending(), 0);
    assert.equal(new Set(fake.trail.map((r) => r.id)).size, 12, 'each entry once');
  }).timeout(20_000);

  it('leaves the entries in the journal when the trail cannot be written, and the background round retries them', async () => {
    let failing = true;
    const fake = fakeJournal(3, { failAppend: () => failing });
    const warnings: string[] = [];
    const expander = new AuditJournalExpander({ repository: fake.repository, registry, intervalMs: 0, quietMs: 0, logger: { warn: (_d, message) => void warnings.push(message) } });
    await assert.rejects(expander.drain('t1'), /trail unavailable/);
    assert.equal(fake.pending(), 3);
    expander.noteAppended('t1');
    await expander.expandDirty();
    assert.equal(warnings.length, 1);
    assert.equal(fake.pending(), 3);
    failing = false;
    await expander.expandDirty(); // still marked: retried
    assert.equal(fake.pending(), 0);
    assert.equal(fake.trail.length, 3);
    await expander.expandDirty(); // nothing left to do, nothing marked
    assert.equal(fake.trail.length, 3);
  }).timeout(20_000);

  it('defers background rounds while the server records, until the entries have waited the longest they may', async () => {
    const fake = fakeJournal(4);
    let now = 1_000_000;
    const expander = new AuditJournalExpander({ repository: fake.repository, registry, intervalMs: 1000, maxLagMs: 30_000, now: () => new Date(now) });
    expander.noteAppended('t1');
    now += 500;
    expander.noteAppended('t1'); // still recording: busy
    await expander.expandDirty();
    assert.equal(fake.pending(), 4, 'deferred while requests come in');
    now += 29_000;
    expander.noteAppended('t1');
    await expander.expandDirty();
    assert.equal(fake.pending(), 4, 'busy, and the first entry has waited 29.5 s');
    now += 1_000;
    expander.noteAppended('t1');
    await expander.expandDirty();
    assert.equal(fake.pending(), 0, 'busy, but the first entry has waited 30.5 s');
    fake.add(2);
    expander.noteAppended('t1');
    now += 1_500; // a quiet second
    await expander.expandDirty();
    assert.equal(fake.pending(), 0, 'expanded in the first quiet interval');
  }).timeout(20_000);

  it('catches up (for the sealer) only on entries older than the lag bound', async () => {
    const fake = fakeJournal(3); // recorded a minute ago
    const young = new AuditJournalExpander({ repository: fake.repository, registry, maxLagMs: 120_000 });
    assert.equal(await young.catchUp('t1'), 0);
    assert.equal(fake.pending(), 3, 'left to the process that recorded them');
    const old = new AuditJournalExpander({ repository: fake.repository, registry, maxLagMs: 30_000 });
    assert.equal(await old.catchUp('t1'), 3);
    assert.equal(fake.pending(), 0);
    assert.equal(await old.catchUp('t1'), 0, 'nothing left');
  }).timeout(20_000);
});
