// Audit rows without round trips of their own (issue 11 benchmark targets;
// docs/adr/0015-audit-rows-without-round-trips.md, 0016-audit-journal.md): a write's audit journal
// entry goes to PostgreSQL in the statement that writes its versions, and the group commit appends
// reads' entries as one statement that is its own transaction, run as the app role with the tenant
// set (migration 0018). The trail's AuditEvents are built from the journal afterwards.
// Every statement the service sends is logged here, so each test counts what went over the wire.
import assert from 'node:assert/strict';
import pg from 'pg';
import { createFhirService, type FhirComposition } from '../../src/compose.js';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { expandAuditJournal } from '../../src/cli/audit-commands.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS } from '../../src/core/types.js';
import { newTenant, testPool } from '../support/database.js';
import { requestsTo, type SendAs } from '../support/service-requests.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';

const patient = (family: string) => ({ resourceType: 'Patient', name: [{ family }] });

function textOf(config: unknown): string {
  return typeof config === 'string' ? config : ((config as { text?: string })?.text ?? '');
}

describe('audit rows without round trips of their own (PostgreSQL)', function () {
  this.timeout(60_000);
  let migrated: pg.Pool;
  let pool: pg.Pool;
  let composition: FhirComposition;
  let tenant: string;
  let send: SendAs;
  const sent: string[] = [];

  before(async function () {
    await requireServices(this);
    migrated = await testPool();
    pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 4 });
    // Every statement any client of this pool sends, in order.
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        sent.push(textOf(args[0]));
        return query(...args);
      };
    });
    composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'on' }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
    send = requestsTo(composition.service, () => tenant);
  });

  beforeEach(async () => {
    tenant = await newTenant(migrated);
    sent.length = 0;
  });

  after(async () => {
    await composition?.maintenance.close();
    await pool?.end();
  });

  const trail = async () =>
    (await expandAuditJournal(migrated, auditHasher, [tenant]), await migrated.query<{ content: string }>('SELECT content FROM audit_events WHERE tenant_id = $1 ORDER BY recorded, id', [tenant])).rows.map(
      (r) => JSON.parse(r.content) as { subtype: { code: string }[]; entity?: { what?: { reference?: string } }[] },
    );
  /** The statements between the transaction's opening and its COMMIT. */
  const inside = () => sent.slice(sent.findIndex((s) => s.startsWith('BEGIN')) + 1, sent.indexOf('COMMIT'));

  it('a create sends its audit entry in the statement that writes its version: no statement of its own', async () => {
    const created = await send(ANONYMOUS_ACCESS, 'POST', 'Patient', { body: patient('Roundtrip'), bodyKind: 'resource' });
    assert.equal(created.status, 201);
    // (A tenant's first write also reads its search parameters.)
    const writes = inside().filter((s) => /INSERT/.test(s));
    assert.equal(writes.length, 1, `one writing statement inside the transaction, got: ${writes.map((s) => s.slice(0, 60)).join(' | ')}`);
    assert.match(writes[0], /INSERT INTO audit_journal/);
    assert.ok(sent.every((s) => !/audit_trail/.test(s)), 'the request path does not write the trail itself');
    assert.match(writes[0], /INSERT INTO "patient"/);
    const events = await trail();
    assert.equal(events.length, 1);
    assert.equal(events[0].subtype[0].code, 'create');
    assert.ok(events[0].entity?.some((e) => e.what?.reference === `Patient/${created.body?.id as string}/_history/1`));
  });

  it('an update and a delete do the same', async () => {
    const id = (await send(ANONYMOUS_ACCESS, 'POST', 'Patient', { body: patient('Before'), bodyKind: 'resource' })).body?.id as string;
    sent.length = 0;
    assert.equal((await send(ANONYMOUS_ACCESS, 'PUT', `Patient/${id}`, { body: { ...patient('After'), id }, bodyKind: 'resource' })).status, 200);
    assert.ok(inside().every((s) => !/hearth_audit_journal_append|^INSERT INTO audit_journal/.test(s)), 'no statement only for the audit entry');
    assert.equal(inside().filter((s) => /INSERT INTO audit_journal/.test(s)).length, 1);
    sent.length = 0;
    assert.ok([200, 204].includes((await send(ANONYMOUS_ACCESS, 'DELETE', `Patient/${id}`)).status));
    assert.equal(inside().filter((s) => /INSERT INTO audit_journal/.test(s)).length, 1);
    assert.ok(inside().every((s) => !/^INSERT INTO audit_journal/.test(s)));
    assert.deepEqual((await trail()).map((e) => e.subtype[0].code), ['create', 'update', 'delete']);
  });

  it('a transaction bundle sends its entries\' audit entries with their versions', async () => {
    const bundle = {
      resourceType: 'Bundle', type: 'transaction',
      entry: [
        { resource: patient('One'), request: { method: 'POST', url: 'Patient' } },
        { resource: patient('Two'), request: { method: 'POST', url: 'Patient' } },
      ],
    };
    assert.equal((await send(ANONYMOUS_ACCESS, 'POST', '', { body: bundle, bodyKind: 'resource' })).status, 200);
    assert.ok(inside().every((s) => !/^INSERT INTO audit_journal/.test(s)), 'no statement only for the audit entries');
    assert.equal(inside().filter((s) => /INSERT INTO audit_journal/.test(s)).length, 1);
    // Two entry events and the transaction's own event.
    assert.equal((await trail()).filter((e) => e.subtype[0].code === 'create').length, 2);
  });

  it('a read\'s audit entry is appended by one statement, outside any transaction block, as is the read', async () => {
    const id = (await send(ANONYMOUS_ACCESS, 'POST', 'Patient', { body: patient('Read'), bodyKind: 'resource' })).body?.id as string;
    sent.length = 0;
    assert.equal((await send(ANONYMOUS_ACCESS, 'GET', `Patient/${id}`)).status, 200);
    const appends = sent.filter((s) => /hearth_audit_journal_append/.test(s));
    assert.deepEqual(appends, ['SELECT hearth_audit_journal_append($1, $2::json)']);
    // The read itself is one statement with its settings pipelined (ADR 0021): no BEGIN, no COMMIT.
    assert.equal(sent.filter((s) => s.startsWith('BEGIN')).length, 0, sent.join(' | '));
    assert.equal(sent.filter((s) => s === 'COMMIT').length, 0, sent.join(' | '));
    assert.equal(sent.filter((s) => /FROM "patient" WHERE tenant_id = \$1 AND id = \$2/.test(s)).length, 1, sent.join(' | '));
    assert.deepEqual((await trail()).map((e) => e.subtype[0].code), ['create', 'read']);
  });
});

describe('hearth_audit_journal_append: the group commit\'s statement (migration 0018)', function () {
  let pool: pg.Pool;
  let tenant: string;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });
  afterEach(async () => {
    await pool.query('DROP TRIGGER IF EXISTS test_audit_as_app ON audit_journal');
    await pool.query('DROP FUNCTION IF EXISTS test_audit_as_app()');
  });

  const entries = (id: string) => JSON.stringify([{ id, recorded: new Date().toISOString(), entry: '{"event":{}}' }]);

  it('inserts as the app role with the tenant set (row-level security applies), and both end with the statement', async () => {
    tenant = await newTenant(pool);
    // Refuses this tenant's rows unless inserted as hearth_app with app.tenant_id set to the row's tenant.
    await pool.query(
      `CREATE FUNCTION test_audit_as_app() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
         IF NEW.tenant_id = '${tenant}' AND (current_user <> 'hearth_app' OR current_setting('app.tenant_id', true) IS DISTINCT FROM NEW.tenant_id)
         THEN RAISE EXCEPTION 'inserted as % for tenant %', current_user, current_setting('app.tenant_id', true); END IF; RETURN NEW; END $$`,
    );
    await pool.query('CREATE TRIGGER test_audit_as_app BEFORE INSERT ON audit_journal FOR EACH ROW EXECUTE FUNCTION test_audit_as_app()');
    const client = await pool.connect();
    try {
      // The trigger does catch an insert as anyone else.
      await assert.rejects(
        client.query("INSERT INTO audit_journal (tenant_id, id, recorded, entry) VALUES ($1, 'x', now(), '{}')", [tenant]),
        /inserted as/,
      );
      const { rows: appended } = await client.query<{ n: string }>('SELECT hearth_audit_journal_append($1, $2::json) AS n', [tenant, entries('a1')]);
      assert.equal(Number(appended[0].n), 1);
      // The statement was its own transaction: the role and tenant it set are gone.
      const { rows: after } = await client.query<{ back: boolean; tenant: string | null }>("SELECT current_user = session_user AS back, nullif(current_setting('app.tenant_id', true), '') AS tenant");
      assert.deepEqual(after[0], { back: true, tenant: null });
    } finally {
      client.release();
    }
    const { rows: stored } = await pool.query<{ entry: string }>('SELECT entry FROM audit_journal WHERE tenant_id = $1 AND id = $2', [tenant, 'a1']);
    assert.deepEqual(stored.map((r) => r.entry), ['{"event":{}}']);
    await pool.query('DELETE FROM audit_journal WHERE tenant_id = $1', [tenant]);
  });
});

describe('the audit trail keeps its rows whole in their page (migration 0017)', function () {
  let pool: pg.Pool;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
  });

  it('stores content and the search index compressed in the row (storage MAIN), in every partition, those made later too', async () => {
    // A month no test writes to, made the way the partition job makes them.
    await pool.query("SELECT hearth_audit_ensure_partitions('2031-03-01T00:00:00Z', 0)");
    const { rows } = await pool.query<{ relname: string; attname: string; attstorage: string }>(
      `SELECT c.relname, a.attname, a.attstorage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       WHERE a.attname IN ('content', 'sp') AND (c.relname = 'audit_trail' OR c.oid IN (SELECT relid FROM pg_partition_tree('audit_trail'::regclass)))`,
    );
    assert.ok(rows.some((r) => r.relname === 'audit_trail_p203103'), 'the new partition is there');
    assert.ok(rows.length >= 6);
    assert.deepEqual(rows.filter((r) => r.attstorage !== 'm'), []);
  });

  after(async () => {
    await pool?.query('DROP TABLE IF EXISTS audit_trail_p203103');
  });
});
