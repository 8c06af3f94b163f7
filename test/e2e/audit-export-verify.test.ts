// Auditors' export and the integrity check over HTTP (issue 11 "Auditor access", "Integrity"):
// GET AuditEvent/$export-ndjson streams the tenant's events in [_since, _until) in (recorded,
// id) order, each line the stored text as is, across several keyset pages; a bad instant is a
// 400 naming the parameter; it is gzipped for a client that accepts it; a token without a tenant-wide AuditEvent search scope gets 403.
// AuditEvent/$verify (administrators) reports the trail intact with its counts, then the first
// break after a row is altered as the database owner (the append-only trigger bypassed).
import assert from 'node:assert/strict';
import type pg from 'pg';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { auditRowsOf, buildAuditEvents } from '../../src/audit/balp/index.js';
import type { NewAuditRow } from '../../src/storage/audit-store.js';
import { sealAuditTrail } from '../../src/storage/pg/audit-seal.js';
import { PgAuditStore } from '../../src/storage/pg/audit-store.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { assertOutcome, http } from '../support/http.js';
import { generateClientKeys, postForm, registerClient, signClientAssertion } from '../support/smart-clients.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const BASE = Date.parse('2026-11-10T08:00:00Z');
const tenantOf = (base: string) => /\/t\/([^/]+)\/fhir$/.exec(base)![1];

/** `count` BALP read events, three per recorded second (ties broken by id), appended in batches of 500. */
async function appendEvents(pool: pg.Pool, tenantId: string, count: number, startMs = BASE): Promise<NewAuditRow[]> {
  const rows: NewAuditRow[] = [];
  for (let i = 0; i < count; i++) {
    const recorded = new Date(startMs + Math.floor(i / 3) * 1000);
    const events = buildAuditEvents({
      event: { kind: 'rest', interaction: 'read' },
      outcome: { status: 200 },
      period: { start: recorded, end: recorded },
      recorded,
      caller: { subject: 'export-test' },
      server: { observer: 'hearth-test' },
      entities: [{ reference: `Observation/o${i}`, versionId: 1 }],
      patients: [`Patient/p${i % 7}`],
    });
    rows.push(...auditRowsOf(tenantId, events));
  }
  for (let at = 0; at < rows.length; at += 500) {
    const batch = rows.slice(at, at + 500);
    await inTenantTransaction(pool, tenantId, (client) => new PgAuditStore(client, tenantId, auditHasher).appendAuditEvents(batch));
  }
  return rows;
}

/** The stored order: (recorded, id), ids compared as bytes (COLLATE "C"). */
const inTrailOrder = (rows: NewAuditRow[]) =>
  [...rows].sort((a, b) => a.recorded.getTime() - b.recorded.getTime() || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));

async function exportLines(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; lines: string[] }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  assert.ok(text === '' || text.endsWith('\n'), 'every line ends in a newline');
  return { status: res.status, type: res.headers.get('content-type'), lines: text === '' ? [] : text.slice(0, -1).split('\n') };
}

for (const mode of DATABASE_MODES) describe(`AuditEvent/$export-ndjson and $verify (e2e, ${mode})`, function () {
  this.timeout(120_000);
  const fixture = useTestServer(mode);
  const tenant = fixture.useTenant();
  const pool = () => fixture.server.server.database.pool;

  it('streams the events in (recorded, id) order, each line as stored, across several pages', async () => {
    const rows = await appendEvents(pool(), tenantOf(tenant.base), 2000);
    const expected = inTrailOrder(rows).map((r) => r.content);
    const { status, type, lines } = await exportLines(`${tenant.base}/AuditEvent/$export-ndjson?_since=2026-11-10T00:00:00Z&_until=2026-11-11T00:00:00Z`);
    assert.equal(status, 200);
    assert.equal(type, 'application/fhir+ndjson; charset=utf-8');
    assert.equal(lines.length, 2000);
    assert.deepEqual(lines, expected);
    // Without bounds: the same events first; whatever follows was recorded later (e.g. the trail of this test's own requests).
    const all = await exportLines(`${tenant.base}/AuditEvent/$export-ndjson`);
    assert.deepEqual(all.lines.slice(0, 2000), expected);
    for (const line of all.lines.slice(2000)) assert.ok(Date.parse(JSON.parse(line).recorded) > BASE + 86_400_000);
  });

  it('compresses the export for a client that accepts gzip (NDJSON is text), and not for one that does not', async () => {
    const rows = await appendEvents(pool(), tenantOf(tenant.base), 300);
    const url = `${tenant.base}/AuditEvent/$export-ndjson?_since=2026-11-10T00:00:00Z&_until=2026-11-11T00:00:00Z`;
    const gzipped = await fetch(url, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gzipped.status, 200);
    assert.equal(gzipped.headers.get('content-encoding'), 'gzip');
    // fetch decodes it: the lines are the stored events, in order.
    assert.deepEqual((await gzipped.text()).slice(0, -1).split('\n'), inTrailOrder(rows).map((r) => r.content));
    const plain = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal((await plain.text()).slice(0, -1).split('\n').length, 300);
  });

  it('takes _since inclusive and _until exclusive, to the millisecond', async () => {
    const rows = inTrailOrder(await appendEvents(pool(), tenantOf(tenant.base), 30));
    // recorded seconds 0..9, three events each: [second 2, second 5) holds events 6..14.
    const since = new Date(BASE + 2000).toISOString();
    const until = new Date(BASE + 5000).toISOString();
    const { lines } = await exportLines(`${tenant.base}/AuditEvent/$export-ndjson?_since=${since}&_until=${until}`);
    assert.deepEqual(lines, rows.slice(6, 15).map((r) => r.content));
    const justAfter = await exportLines(`${tenant.base}/AuditEvent/$export-ndjson?_since=${new Date(BASE + 2001).toISOString()}&_until=${new Date(BASE + 5001).toISOString()}`);
    assert.deepEqual(justAfter.lines, rows.slice(9, 18).map((r) => r.content));
    const none = await exportLines(`${tenant.base}/AuditEvent/$export-ndjson?_since=2026-11-09T00:00:00Z&_until=2026-11-10T08:00:00Z`);
    assert.deepEqual(none, { status: 200, type: 'application/fhir+ndjson; charset=utf-8', lines: [] });
  });

  it('exports only the caller\'s tenant', async () => {
    const other = await fixture.server.newTenantBase();
    await appendEvents(pool(), tenantOf(other), 5);
    const mine = await appendEvents(pool(), tenantOf(tenant.base), 4);
    const { lines } = await exportLines(`${tenant.base}/AuditEvent/$export-ndjson?_until=2026-11-11T00:00:00Z`);
    assert.deepEqual(lines, inTrailOrder(mine).map((r) => r.content));
  });

  it('answers a bad instant with a 400 OperationOutcome naming the parameter', async () => {
    for (const [query, parameter] of [['_since=2026-11-10', '_since'], ['_until=tomorrow', '_until']]) {
      const res = await http(`${tenant.base}/AuditEvent/$export-ndjson?${query}`);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(assertOutcome(res.body, 'invalid').issue[0].expression, [parameter]);
    }
  });

  it('$verify: intact with its counts, then the first break after a row is altered as the owner', async () => {
    const tenantId = tenantOf(tenant.base);
    const rows = inTrailOrder(await appendEvents(pool(), tenantId, 12));
    await sealAuditTrail(pool(), auditHasher, tenantId, { now: new Date(BASE + 86_400_000) });
    const intact = await http(`${tenant.base}/AuditEvent/$verify`);
    assert.equal(intact.status, 200, intact.text);
    const value = (name: string) => intact.body.parameter.find((p: { name: string }) => p.name === name);
    assert.equal(intact.body.resourceType, 'Parameters');
    assert.equal(value('result').valueBoolean, true);
    assert.equal(value('sealed').valueInteger, 12);
    assert.equal(value('seals').valueInteger, 1);
    assert.equal(value('archivedSeals').valueInteger, 0);
    assert.ok(value('pending').valueInteger >= 0); // this test's own requests may be pending
    const since = await http(`${tenant.base}/AuditEvent/$verify`, { method: 'POST', json: { resourceType: 'Parameters', parameter: [{ name: '_since', valueInstant: '2026-11-10T08:00:00Z' }] } });
    assert.equal(since.status, 200, since.text);
    assert.equal(since.body.parameter[0].valueBoolean, true);

    const victim = rows[5];
    const client = await pool().connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL session_replication_role = replica');
      const altered = await client.query(`UPDATE audit_trail SET content = replace(content, 'export-test', 'someone-else') WHERE tenant_id = $1 AND id = $2`, [tenantId, victim.id]);
      assert.equal(altered.rowCount, 1);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const broken = await http(`${tenant.base}/AuditEvent/$verify`);
    assert.equal(broken.status, 200, broken.text);
    assert.equal(broken.body.parameter[0].name, 'result');
    assert.equal(broken.body.parameter[0].valueBoolean, false);
    const firstBreak = broken.body.parameter.find((p: { name: string }) => p.name === 'firstBreak');
    const part = (name: string) => firstBreak.part.find((p: { name: string }) => p.name === name);
    assert.equal(part('recordId').valueString, victim.id);
    assert.match(part('reason').valueString, /altered/);
  });
});

describe('AuditEvent/$export-ndjson and $verify with tokens (e2e, HEARTH_AUTH=required)', function () {
  this.timeout(120_000);
  const fixture = useTestServer('postgres', { auth: 'required', reindexWorker: false });

  async function tokenFor(base: string, scope: string): Promise<string> {
    const keys = await generateClientKeys('ES384');
    const client = await registerClient(fixture.server.server.database, tenantOf(base), { name: 'auditor', kind: 'backend-service', jwks: keys.jwks, scope });
    const assertion = await signClientAssertion({ clientId: client.clientId, aud: `${base}/auth/token`, keys });
    const result = await postForm(`${base}/auth/token`, {
      grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
    });
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body.access_token as string;
  }

  it('an auditor with system/AuditEvent.rs exports; without it 403; $verify is refused to a non-admin token', async () => {
    const base = await fixture.server.newTenantBase();
    const rows = await appendEvents(fixture.server.server.database.pool, tenantOf(base), 5);
    const auditor = { authorization: `Bearer ${await tokenFor(base, 'system/AuditEvent.rs')}` };
    const exported = await exportLines(`${base}/AuditEvent/$export-ndjson?_until=2026-11-11T00:00:00Z`, auditor);
    assert.equal(exported.status, 200);
    assert.deepEqual(exported.lines, inTrailOrder(rows).map((r) => r.content));

    const clinician = { authorization: `Bearer ${await tokenFor(base, 'system/Patient.rs')}` };
    const refused = await http(`${base}/AuditEvent/$export-ndjson`, { headers: clinician });
    assert.equal(refused.status, 403, refused.text);
    assert.match(assertOutcome(refused.body, 'forbidden').issue[0].diagnostics ?? '', /system\/AuditEvent\.s/);

    const verify = await http(`${base}/AuditEvent/$verify`, { headers: auditor });
    assert.equal(verify.status, 403, verify.text);
    assertOutcome(verify.body, 'forbidden');
  });
});
