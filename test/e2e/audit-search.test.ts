// Auditors search the audit trail (issue 11 "Auditor access"): AuditEvent reads, searches and
// history are served from audit_trail (storage/table-names.ts). Events are built by the BALP
// builder, indexed by the R4 indexer and appended through PgAuditStore, as the request path
// does; then every AuditEvent search parameter the issue names finds what it should and
// nothing else, `_sort=date`/`-date` order by recorded, paging is keyset on (recorded, id)
// (no duplicate or gap, even while events are appended between pages), read, vread and
// history show the one version, and $reindex leaves the trail alone (its trigger refuses
// every UPDATE). The test servers record nothing themselves (audit off), so the trail holds
// exactly the events a test appended.
import assert from 'node:assert/strict';
import type { AuditEvent, Bundle, OperationOutcome, Parameters } from 'fhir/r4.js';
import { allIds, appendEvents, auditEvents } from '../support/audit-search-events.js';
import { http, type HttpResult } from '../support/http.js';
import { DATABASE_MODES, useTestServer } from '../support/test-server.js';

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

const sorted = (ids: readonly string[]) => [...ids].sort();

for (const mode of DATABASE_MODES) {
  describe(`AuditEvent search over the audit trail (e2e, ${mode})`, function () {
    this.timeout(180_000);
    const fixture = useTestServer(mode, { audit: 'off', reindexPollMs: 20, reindexStartDelayMs: 0, reindexBatchSize: 2 });

    describe('search parameters', () => {
      let base: string;
      const ev: Record<string, AuditEvent> = {};
      before(async () => {
        base = await fixture.server.newTenantBase();
        // read of Patient/p1 by Practitioner/pr1 (client app-1, user alice, token jti-1, 10.0.0.1)
        [ev.read] = auditEvents({ event: { kind: 'rest', interaction: 'read' }, recorded: at(1), entities: [{ reference: 'Patient/p1', versionId: 2 }], patients: ['Patient/p1'] });
        // a search whose results hold data of p1 and p2: one event per patient (client app-2, bob, 10.0.0.2)
        const search = auditEvents({
          event: { kind: 'rest', interaction: 'search-type' },
          recorded: at(2),
          caller: { clientId: 'app-2', subject: 'bob', fhirUser: 'Practitioner/pr2', tokenId: 'jti-2' },
          network: '10.0.0.2',
          request: { method: 'GET', path: 'Observation', query: 'code=8867-4' },
          patients: ['Patient/p1', 'Patient/p2'],
        });
        assert.equal(search.length, 2);
        [ev.searchP1, ev.searchP2] = search[0].entity!.some((e) => e.what?.reference === 'Patient/p1') ? search : [search[1], search[0]];
        // a refused update (403) of Patient/p3 by client app-3: no patient recorded
        [ev.refused] = auditEvents({
          event: { kind: 'rest', interaction: 'update' },
          recorded: at(3),
          outcome: { status: 403, code: 'forbidden' },
          caller: { clientId: 'app-3', subject: 'mallory', tokenId: 'jti-3' },
          network: '10.0.0.3',
          entities: [{ reference: 'Patient/p3' }],
        });
        // a login at the authorization server (another observer)
        [ev.login] = auditEvents({
          event: { kind: 'security', event: 'login' },
          recorded: at(4),
          caller: { subject: 'carol' },
          network: '10.0.0.4',
          server: { observer: 'https://auth.hearth.test' },
        });
        // The builder records no names (identifiers only); an event with an agent name shows agent-name works.
        const [named] = auditEvents({ event: { kind: 'rest', interaction: 'vread' }, recorded: at(5), caller: { clientId: 'app-5', subject: 'dave', tokenId: 'jti-5' }, network: '10.0.0.5' });
        named.agent = named.agent.map((a) => (a.requestor ? { ...a, name: 'Dave Auditor' } : a));
        ev.named = named;
        await appendEvents(fixture.server, base, Object.values(ev));
      });

      const cases: [string, string[]][] = [
        ['date=ge2026-11-20T10:00:02Z&date=lt2026-11-20T10:00:04Z', ['searchP1', 'searchP2', 'refused']],
        ['date=2026-11-20T10:00:04Z', ['login']],
        // Each prefix (search.html#prefix), also bounding the recorded column (sql.ts instantColumnBounds).
        ['date=gt2026-11-20T10:00:03Z', ['login', 'named']],
        ['date=sa2026-11-20T10:00:03Z', ['login', 'named']],
        ['date=lt2026-11-20T10:00:02Z', ['read']],
        ['date=le2026-11-20T10:00:02Z', ['read', 'searchP1', 'searchP2']],
        ['date=eb2026-11-20T10:00:03Z', ['read', 'searchP1', 'searchP2']],
        ['date=ne2026-11-20T10:00:03Z', ['read', 'searchP1', 'searchP2', 'login', 'named']],
        ['date=ge2026-11-20T10:00:04.000Z', ['login', 'named']],
        ['date=lt2026-11-20T10:00:04.000Z', ['read', 'searchP1', 'searchP2', 'refused']],
        ['date=2026-11-20T10:00:01Z,2026-11-20T10:00:05Z', ['read', 'named']],
        ['date=2026-11-20', ['read', 'searchP1', 'searchP2', 'refused', 'login', 'named']],
        ['date=ap2026-11-20T10:00:03Z', ['read', 'searchP1', 'searchP2', 'refused', 'login', 'named']],
        ['date=2026-11-21', []],
        ['date:missing=true', []],
        ['agent=Practitioner/pr1', ['read']],
        ['agent=Practitioner/pr2', ['searchP1', 'searchP2']],
        ['agent:identifier=app-3', ['refused']],
        ['agent-name=dave', ['named']],
        ['agent-name=unidentified', ['login']],
        ['agent-name=alice', []],
        ['altid=alice', ['read']],
        ['agent:identifier=carol', ['login']],
        ['entity=Patient/p1', ['read', 'searchP1']],
        ['entity=Patient/p3', ['refused']],
        ['entity-type=http://terminology.hl7.org/CodeSystem/audit-entity-type|1', ['read', 'searchP1', 'searchP2']],
        ['patient=Patient/p1', ['read', 'searchP1']],
        ['patient=Patient/p2', ['searchP2']],
        // R4's patient is any Patient the event references (agent.who, entity.what): the refused
        // update's target too, though it is not in the trail's `patients` column.
        ['patient=Patient/p3', ['refused']],
        ['patient=Patient/p9', []],
        ['type=http://terminology.hl7.org/CodeSystem/audit-event-type|rest', ['read', 'searchP1', 'searchP2', 'refused', 'named']],
        ['type=http://dicom.nema.org/resources/ontology/DCM|110114', ['login']],
        ['subtype=http://hl7.org/fhir/restful-interaction|read', ['read']],
        ['subtype=search-type', ['searchP1', 'searchP2']],
        ['action=R', ['read', 'named']],
        ['action=U', ['refused']],
        ['outcome=4', ['refused']],
        ['outcome=0', ['read', 'searchP1', 'searchP2', 'login', 'named']],
        ['source:identifier=https://auth.hearth.test', ['login']],
        ['address=10.0.0.2', ['searchP1', 'searchP2']],
        ['policy=jti-1', ['read']],
        ['policy=jti-3', ['refused']],
        ['_id=PLACEHOLDER', ['read']],
      ];
      for (const [query, expected] of cases) {
        it(`AuditEvent?${query} finds ${expected.length === 0 ? 'nothing' : expected.join(', ')}`, async () => {
          const q = query.replace('PLACEHOLDER', ev.read?.id ?? '');
          const { ids } = await allIds(`${base}/AuditEvent?${q}`);
          assert.deepEqual(sorted(ids), sorted(expected.map((name) => ev[name].id!)), q);
        });
      }

      it('answers POST _search like GET', async () => {
        const res = await http<Bundle>(`${base}/AuditEvent/_search`, { method: 'POST', body: 'patient=Patient/p1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(sorted(res.body.entry!.map((e) => e.resource!.id!)), sorted([ev.read.id!, ev.searchP1.id!]));
      });

      it('sorts by date (recorded) ascending and descending', async () => {
        const byTime = Object.values(ev).sort((a, b) => a.recorded.localeCompare(b.recorded) || (a.id! < b.id! ? -1 : 1)).map((e) => e.id!);
        assert.deepEqual((await allIds(`${base}/AuditEvent?_sort=date`)).ids, byTime);
        assert.deepEqual((await allIds(`${base}/AuditEvent?_sort=-date`)).ids, [...byTime].reverse());
        assert.deepEqual((await allIds(`${base}/AuditEvent?_sort=-date&_count=2`)).ids, [...byTime].reverse(), 'paged');
      });

      it('reads an AuditEvent by id, its one version, and its history of one entry', async () => {
        const id = ev.searchP1.id!;
        const read = await http<AuditEvent>(`${base}/AuditEvent/${id}`);
        assert.equal(read.status, 200, read.text);
        assert.deepEqual(read.body, ev.searchP1);
        assert.equal((await http(`${base}/AuditEvent/${id}/_history/1`)).status, 200);
        assert.equal((await http(`${base}/AuditEvent/${id}/_history/2`)).status, 404);
        const history = await http<Bundle>(`${base}/AuditEvent/${id}/_history`);
        assert.equal(history.status, 200, history.text);
        assert.equal(history.body.type, 'history');
        assert.deepEqual(history.body.entry!.map((e) => e.resource!.id), [id]);
        assert.equal(history.body.entry![0].request?.method, 'POST');
        const typeHistory = await http<Bundle>(`${base}/AuditEvent/_history`);
        assert.equal(typeHistory.status, 200, typeHistory.text);
        assert.equal(typeHistory.body.entry!.length, Object.keys(ev).length);
        assert.equal((await http(`${base}/AuditEvent/not-recorded`)).status, 404);
      });

      it('includes, reverse-includes, compartment and system searches reach the trail', async () => {
        const put = await http(`${base}/Patient/p1`, { method: 'PUT', json: { resourceType: 'Patient', id: 'p1' } });
        assert.ok(put.status === 200 || put.status === 201, put.text);
        const included = await http<Bundle>(`${base}/AuditEvent?_id=${ev.read.id}&_include=AuditEvent:patient`);
        assert.deepEqual(included.body.entry!.map((e) => `${e.search?.mode} ${e.resource!.resourceType}/${e.resource!.id}`), [`match AuditEvent/${ev.read.id}`, 'include Patient/p1']);
        const reverse = await http<Bundle>(`${base}/Patient?_id=p1&_revinclude=AuditEvent:patient`);
        assert.deepEqual(sorted(reverse.body.entry!.filter((e) => e.search?.mode === 'include').map((e) => e.resource!.id!)), sorted([ev.read.id!, ev.searchP1.id!]));
        assert.deepEqual(sorted((await allIds(`${base}/Patient/p1/AuditEvent`)).ids), sorted([ev.read.id!, ev.searchP1.id!]));
        const system = await allIds(`${base}?_type=AuditEvent&_sort=-date&_count=2`);
        assert.deepEqual(system.ids, Object.values(ev).sort((a, b) => b.recorded.localeCompare(a.recorded) || (a.id! < b.id! ? -1 : 1)).map((e) => e.id!));
      });

      it('refuses a forged paging cursor with 400 naming _page', async () => {
        const forged = Buffer.from(JSON.stringify(['>', '2026-02-30T00:00:00.000000Z', 'x'])).toString('base64url');
        const res = await http<OperationOutcome>(`${base}/AuditEvent?_sort=-date&_page=${forged}`);
        assert.equal(res.status, 400, res.text);
        assert.deepEqual(res.body.issue[0].expression, ['_page']);
      });
    });

    describe('keyset paging', () => {
      it('pages -date by (recorded, id): no duplicate and no gap, even while events are appended between pages', async () => {
        const base = await fixture.server.newTenantBase();
        // 25 reads, three to a millisecond: the id breaks the ties.
        const events = Array.from({ length: 25 }, (_, i) => auditEvents({ event: { kind: 'rest', interaction: 'read' }, recorded: new Date(T0 + Math.floor(i / 3)), entities: [{ reference: `Patient/q${i}` }] })[0]);
        await appendEvents(fixture.server, base, events);
        const expected = [...events].sort((a, b) => b.recorded.localeCompare(a.recorded) || (a.id! < b.id! ? 1 : -1)).map((e) => e.id!);

        const seen: string[] = [];
        let next: string | undefined = `${base}/AuditEvent?_sort=-date&_count=4`;
        let pages = 0;
        while (next) {
          const res: HttpResult<Bundle> = await http<Bundle>(next);
          assert.equal(res.status, 200, res.text);
          seen.push(...(res.body.entry ?? []).map((e) => e.resource!.id!));
          next = res.body.link?.find((l) => l.relation === 'next')?.url;
          pages++;
          // Newer events arrive while the auditor pages back in time: they precede the cursor,
          // so the pages ahead neither repeat nor skip an event.
          if (pages === 2) await appendEvents(fixture.server, base, auditEvents({ event: { kind: 'rest', interaction: 'read' }, recorded: at(60) }));
        }
        assert.equal(pages, 7);
        assert.deepEqual(seen, expected);

        // previous links go back exactly
        const first = await http<Bundle>(`${base}/AuditEvent?_sort=date&_count=5&date=le2026-11-20T10:00:00.008Z`);
        const second = await http<Bundle>(first.body.link!.find((l) => l.relation === 'next')!.url);
        const back = await http<Bundle>(second.body.link!.find((l) => l.relation === 'previous')!.url);
        assert.deepEqual(back.body.entry!.map((e) => e.resource!.id), first.body.entry!.map((e) => e.resource!.id));
      });

      it('orders by the recorded column and pages by a row comparison on it (the primary key serves the page)', async () => {
        const base = await fixture.server.newTenantBase();
        await appendEvents(fixture.server, base, Array.from({ length: 3 }, (_, i) => auditEvents({ event: { kind: 'rest', interaction: 'read' }, recorded: at(i) })[0]));
        const first = await http<Bundle>(`${base}/AuditEvent?_sort=-date&_count=1`);
        const next = first.body.link!.find((l) => l.relation === 'next')!.url;
        const explained = await http<OperationOutcome>(`${next}&_explain=true`);
        assert.equal(explained.status, 200, explained.text);
        const sql = explained.body.issue.map((i) => i.diagnostics ?? '').join('\n');
        assert.match(sql, /FROM "audit_events" r/);
        assert.match(sql, /ORDER BY r\.recorded DESC, r\.id DESC/);
        assert.match(sql, /\(r\.recorded, r\.id\) < \(\$\d+::timestamptz, \$\d+::text\)/);

        // A time window bounds the column itself (the key's range, and partitions outside it are skipped).
        const window = await http<OperationOutcome>(`${base}/AuditEvent?date=ge2026-11-20T10:00:01Z&date=lt2026-11-20T10:00:02Z&_sort=-date&_explain=true`);
        assert.match(window.body.issue.map((i) => i.diagnostics ?? '').join('\n'), /r\.recorded >= \$\d+::timestamptz/);
        // A filter naming a resource (patient=): an order the key cannot give, so the GIN index finds the few rows.
        const patient = await http<OperationOutcome>(`${base}/AuditEvent?patient=Patient/p1&_sort=-date&_explain=true`);
        assert.match(patient.body.issue.map((i) => i.diagnostics ?? '').join('\n'), /ORDER BY \(r\.recorded \+ interval '0 seconds'\) DESC, r\.id DESC/);
      });
    });

    describe('$reindex', () => {
      it('leaves the trail alone: a job over every type completes without AuditEvent, whose rows stay searchable; AuditEvent/$reindex is refused', async () => {
        const base = await fixture.server.newTenantBase();
        await appendEvents(fixture.server, base, auditEvents({ event: { kind: 'rest', interaction: 'read' }, recorded: at(1), patients: ['Patient/r1'], entities: [{ reference: 'Patient/r1' }] }));
        await http(`${base}/Patient`, { method: 'POST', json: { resourceType: 'Patient', name: [{ family: 'Reindexed' }] } });
        const started = await http(`${base}/$reindex`, { method: 'POST' });
        assert.equal(started.status, 202, started.text);
        const statusUrl = started.headers.get('content-location')!;
        let done: HttpResult<Parameters> | undefined;
        for (let i = 0; i < 400; i++) {
          done = await http<Parameters>(statusUrl);
          if (done.status !== 202) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.equal(done!.status, 200, done!.text);
        const parameters = done!.body.parameter!;
        const error = parameters.find((p) => p.name === 'error')?.valueString;
        assert.equal(parameters.find((p) => p.name === 'status')?.valueCode, 'completed', error);
        const types = parameters.filter((p) => p.name === 'resourceType').map((p) => p.valueCode);
        assert.ok(types.includes('Patient') && !types.includes('AuditEvent'), types.join());

        const refused = await http<OperationOutcome>(`${base}/AuditEvent/$reindex`, { method: 'POST' });
        assert.equal(refused.status, 400, refused.text);
        assert.match(refused.body.issue[0].diagnostics ?? '', /append-only: its search index is computed once when it is recorded/);

        assert.equal((await allIds(`${base}/AuditEvent?patient=Patient/r1`)).ids.length, 1);
        assert.equal((await allIds(`${base}/Patient?family=Reindexed`)).ids.length, 1);
      });
    });
  });
}
