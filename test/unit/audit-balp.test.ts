// Unit tests for src/audit/balp (issue 11): the AuditEvent resources built for one
// interaction follow IHE BALP (type, subtype, action, agents, entities, outcome), split per
// patient, carry no PHI beyond references and no token, and are valid R4 (JSON Schema).
import assert from 'node:assert/strict';
import type { AuditEvent, AuditEventAgent, AuditEventEntity } from 'fhir/r4.js';
import { buildAuditEvents, patientsOf, type AuditInput } from '../../src/audit/balp/index.js';
import { ANONYMOUS_ACCESS, type AccessContext } from '../../src/core/types.js';
import { createResourceValidator } from '../../src/fhir/validation/resource-schema.js';

const validator = createResourceValidator();
// Version 7: time-ordered (src/core/uuid-v7.ts).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const START = new Date('2026-12-04T10:00:00.000Z');
const END = new Date('2026-12-04T10:00:00.120Z');
const RECORDED = new Date('2026-12-04T10:00:00.125Z');

/** A user's SMART token: client app, user, fhirUser, jti (and scopes, which are not recorded). */
const USER_TOKEN: AccessContext = {
  subject: 'user-42',
  scopes: ['user/Observation.rs', 'launch/patient'],
  isAdmin: false,
  clientId: 'growth-chart',
  fhirUser: 'Practitioner/dr-1',
  tokenId: 'jti-0001',
  patient: 'p1',
};
/** A backend service's token (client_credentials: sub is the client id). */
const SERVICE_TOKEN: AccessContext = { subject: 'auditor-svc', scopes: ['system/AuditEvent.rs'], isAdmin: false, clientId: 'auditor-svc', tokenId: 'jti-0002' };

function input(overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    event: { kind: 'rest', interaction: 'read' },
    outcome: { status: 200 },
    period: { start: START, end: END },
    recorded: RECORDED,
    caller: USER_TOKEN,
    network: '192.0.2.10',
    server: { observer: 'https://hearth.example.org', tenantBase: 'https://hearth.example.org/t/acme/fhir' },
    request: { id: 'req-1', method: 'GET', path: 'Observation/o1' },
    entities: [{ reference: 'Observation/o1', versionId: 2 }],
    patients: ['Patient/p1'],
    ...overrides,
  };
}

/** Builds, and checks what every event must be: valid R4, a UUID id, meta, the times. */
function build(i: AuditInput): AuditEvent[] {
  const events = buildAuditEvents(i);
  assert.ok(events.length > 0);
  for (const event of events) {
    assert.deepEqual(validator.validate(JSON.parse(JSON.stringify(event))), [], JSON.stringify(event));
    assert.match(event.id!, UUID);
    assert.equal(event.recorded, '2026-12-04T10:00:00.125Z');
    assert.deepEqual(event.period, { start: '2026-12-04T10:00:00.000Z', end: '2026-12-04T10:00:00.120Z' });
    assert.equal(event.meta?.lastUpdated, event.recorded);
    assert.equal(Object.keys(event)[0], 'resourceType');
  }
  assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids are unique');
  return events;
}

const withRole = (event: AuditEvent, code: string): AuditEventEntity[] =>
  (event.entity ?? []).filter((e) => e.role?.system === 'http://terminology.hl7.org/CodeSystem/object-role' && e.role.code === code);
const agentOfType = (event: AuditEvent, code: string): AuditEventAgent | undefined => event.agent.find((a) => a.type?.coding?.some((c) => c.code === code));
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('AuditEvent builder (IHE BALP, src/audit/balp)', () => {
  describe('RESTful interactions', () => {
    it('a read: type rest, subtype read, action R, outcome 0, the resource with its version and the patient', () => {
      const [event] = build(input());
      assert.deepEqual(event.type, { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' });
      assert.deepEqual(event.subtype, [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read', display: 'read' }]);
      assert.equal(event.action, 'R');
      assert.equal(event.outcome, '0');
      assert.equal(event.outcomeDesc, undefined);
      const [resource] = withRole(event, '4');
      assert.equal(resource.what?.reference, 'Observation/o1/_history/2');
      assert.deepEqual(resource.type, { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' });
      const [patient] = withRole(event, '1');
      assert.equal(patient.what?.reference, 'Patient/p1');
      assert.equal(patient.type?.code, '1');
      assert.deepEqual(patientsOf(event), ['Patient/p1']);
      assert.equal(withRole(event, '24').length, 0, 'a read records no query');
    });

    it('maps each interaction to its subtype and action (C R U D E)', () => {
      const cases = [
        ['create', 'C'], ['read', 'R'], ['vread', 'R'], ['history-instance', 'R'], ['update', 'U'], ['patch', 'U'], ['delete', 'D'],
        ['search-type', 'E'], ['search-system', 'E'], ['history-type', 'E'], ['history-system', 'E'], ['batch', 'E'], ['transaction', 'E'],
      ] as const;
      for (const [interaction, action] of cases) {
        const [event] = build(input({ event: { kind: 'rest', interaction } }));
        assert.equal(event.subtype?.[0].code, interaction);
        assert.equal(event.action, action, interaction);
      }
    });

    it('an operation: subtype operation plus the operation named by its definition; action E unless given', () => {
      const definition = 'https://hearth.example.org/t/acme/fhir/OperationDefinition/reindex';
      const [event] = build(input({ event: { kind: 'rest', interaction: 'operation', operation: { name: 'reindex', definition } }, entities: [], patients: [] }));
      assert.deepEqual(event.subtype, [
        { system: 'http://hl7.org/fhir/restful-interaction', code: 'operation', display: 'operation' },
        { system: definition, code: 'reindex', display: '$reindex' },
      ]);
      assert.equal(event.action, 'E');
      const [read] = build(input({ event: { kind: 'rest', interaction: 'operation', operation: { name: 'everything', action: 'R' } } }));
      assert.equal(read.action, 'R');
      assert.throws(() => buildAuditEvents(input({ event: { kind: 'rest', interaction: 'operation' } })), /operation name/);
    });

    it('a search records its query as sent (base64 of the raw query string) and one event per patient of the results', () => {
      const query = 'code=http%3A%2F%2Floinc.org%7C8867-4&subject:Patient.name=M%C3%BCller&_count=10';
      const events = build(input({
        event: { kind: 'rest', interaction: 'search-type' },
        request: { id: 'req-9', method: 'GET', path: 'Observation', query },
        entities: [],
        patients: ['Patient/p1', 'Patient/p2', 'Patient/p1', 'Patient/p3'],
      }));
      assert.equal(events.length, 3, 'one event per distinct patient');
      assert.deepEqual(events.map((e) => patientsOf(e)), [['Patient/p1'], ['Patient/p2'], ['Patient/p3']]);
      for (const event of events) {
        const [q] = withRole(event, '24');
        assert.equal(q.query, base64(query));
        assert.equal(Buffer.from(q.query!, 'base64').toString('utf8'), query, 'exactly what the client sent');
        assert.equal(q.description, 'GET Observation');
        assert.equal(withRole(event, '1').length, 1, 'each event names its own patient only');
      }
    });

    it('a search that returned no patient data yields one event without a patient entity', () => {
      const events = build(input({ event: { kind: 'rest', interaction: 'search-system' }, request: { method: 'GET', path: '', query: '_type=Organization' }, entities: [], patients: [] }));
      assert.equal(events.length, 1);
      assert.equal(withRole(events[0], '1').length, 0);
      assert.equal(withRole(events[0], '24')[0].query, base64('_type=Organization'));
      assert.equal(withRole(events[0], '24')[0].description, 'GET');
      const [bare] = build(input({ event: { kind: 'rest', interaction: 'search-type' }, request: { method: 'GET', path: 'Patient' }, entities: [], patients: [] }));
      assert.equal(withRole(bare, '24')[0].query, undefined, 'no empty base64Binary');
    });

    it('a write lists each resource written with its new version', () => {
      const [event] = build(input({ event: { kind: 'rest', interaction: 'update' }, entities: [{ reference: 'Patient/p1', versionId: '3' }], patients: ['Patient/p1'] }));
      assert.equal(withRole(event, '4')[0].what?.reference, 'Patient/p1/_history/3');
      assert.equal(event.action, 'U');
      const [unversioned] = build(input({ entities: [{ reference: 'Observation/o1' }] }));
      assert.equal(withRole(unversioned, '4')[0].what?.reference, 'Observation/o1');
    });

    it('a bundle entry carries the request id and its place in the bundle', () => {
      const [event] = build(input({ event: { kind: 'rest', interaction: 'create', bundleEntry: { bundleType: 'transaction', index: 4 } } }));
      const request = event.entity!.find((e) => e.type?.code === 'XrequestId')!;
      assert.equal(request.type?.system, 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType');
      assert.deepEqual(request.what, { identifier: { value: 'req-1' } });
      assert.deepEqual(request.detail, [{ type: 'transaction-entry', valueString: '4' }]);
    });
  });

  describe('refused and failed requests', () => {
    it('a refused read (403) has outcome 4 with a description and no patient data: no patient entity, no version', () => {
      const events = build(input({ outcome: { status: 403, code: 'forbidden' }, patients: ['Patient/p1', 'Patient/p2'] }));
      assert.equal(events.length, 1, 'not split per patient');
      const [event] = events;
      assert.equal(event.outcome, '4');
      assert.equal(event.outcomeDesc, '403 Forbidden (forbidden)');
      assert.equal(withRole(event, '1').length, 0);
      assert.deepEqual(patientsOf(event), []);
      assert.equal(withRole(event, '4')[0].what?.reference, 'Observation/o1', 'the target the client named, without the stored version');
    });

    it('maps server failures to 8 and unavailability to 12; the description never carries free text', () => {
      assert.equal(build(input({ outcome: { status: 500 } }))[0].outcome, '8');
      assert.equal(build(input({ outcome: { status: 500 } }))[0].outcomeDesc, '500 Internal Server Error');
      assert.equal(build(input({ outcome: { status: 503, code: 'transient' } }))[0].outcome, '12');
      assert.equal(build(input({ outcome: { status: 404, code: 'not-found' } }))[0].outcomeDesc, '404 Not Found (not-found)');
      // A code that is not on the fixed list (say, diagnostics quoting a name) is dropped.
      const [event] = build(input({ outcome: { status: 400, code: 'Patient Jane Doe born 1970-01-01 not found' } }));
      assert.equal(event.outcomeDesc, '400 Bad Request');
      assert.throws(() => buildAuditEvents(input({ outcome: { status: 42 } })), /HTTP status/);
    });
  });

  describe('agents', () => {
    it('user token: client app (source, network address), user (fhirUser, requestor, jti in policy), server (destination)', () => {
      const [event] = build(input());
      assert.equal(event.agent.length, 3);
      const client = agentOfType(event, '110153')!;
      assert.deepEqual(client.who, { identifier: { value: 'growth-chart' } });
      assert.equal(client.requestor, false);
      assert.deepEqual(client.network, { address: '192.0.2.10', type: '2' });
      assert.equal(client.policy, undefined);
      const user = agentOfType(event, 'IRCP')!;
      assert.deepEqual(user.who, { reference: 'Practitioner/dr-1' });
      assert.equal(user.altId, 'user-42');
      assert.equal(user.requestor, true);
      assert.deepEqual(user.policy, ['jti-0001']);
      assert.ok(user.type?.coding?.some((c) => c.code === 'UserOauthAgent'));
      const server = agentOfType(event, '110152')!;
      assert.deepEqual(server.who, { identifier: { value: 'https://hearth.example.org' } });
      assert.equal(server.requestor, false);
      assert.deepEqual(server.network, { address: 'https://hearth.example.org/t/acme/fhir', type: '5' });
      assert.deepEqual(event.source.observer, { identifier: { value: 'https://hearth.example.org' } });
      assert.equal(event.source.site, 'https://hearth.example.org/t/acme/fhir');
      assert.equal(event.source.type?.[0].code, '4');
      assert.equal(event.agent.filter((a) => a.requestor).length, 1, 'exactly one requestor');
    });

    it('a user without fhirUser is named by its subject; a host name is network type 1', () => {
      const [event] = build(input({ caller: { subject: 'user-7', clientId: 'app', tokenId: 'j' }, network: 'ws-12.clinic.example' }));
      assert.deepEqual(agentOfType(event, 'IRCP')!.who, { identifier: { value: 'user-7' } });
      assert.deepEqual(agentOfType(event, '110153')!.network, { address: 'ws-12.clinic.example', type: '1' });
    });

    it('a backend service (sub = client id): the client is the requestor and holds the jti; no user agent', () => {
      const [event] = build(input({ caller: SERVICE_TOKEN }));
      assert.equal(event.agent.length, 2);
      const client = agentOfType(event, '110153')!;
      assert.deepEqual(client.who, { identifier: { value: 'auditor-svc' } });
      assert.equal(client.requestor, true);
      assert.deepEqual(client.policy, ['jti-0002']);
      assert.equal(agentOfType(event, 'IRCP'), undefined);
    });

    it('the open mode: an anonymous requestor with its network address, no policy', () => {
      const [event] = build(input({ caller: ANONYMOUS_ACCESS, network: '::1' }));
      const client = agentOfType(event, '110153')!;
      assert.equal(client.name, 'anonymous');
      assert.equal(client.who, undefined);
      assert.equal(client.requestor, true);
      assert.equal(client.policy, undefined);
      assert.deepEqual(client.network, { address: '::1', type: '2' });
    });

    it('records nothing of the caller but ids: no scopes, no launch context, no token', () => {
      const rawToken = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl';
      // A caller object carrying more than it should (as a careless caller might pass it).
      const caller = { ...USER_TOKEN, accessToken: rawToken } as AccessContext;
      const text = JSON.stringify(build(input({ caller })));
      assert.ok(!text.includes(rawToken));
      assert.ok(!text.includes('user/Observation.rs') && !text.includes('launch/patient'), 'no scopes');
    });
  });

  describe('security events (authorization server)', () => {
    const security = (event: 'login' | 'login-failed' | 'logout' | 'token-issued' | 'token-refused', status = 200, code?: string) =>
      build(input({ event: { kind: 'security', event }, outcome: { status, code }, entities: [], patients: [], request: { id: 'req-s' } }))[0];

    it('login and logout: DICOM User Authentication with the Login / Logout subtype, action E', () => {
      const login = security('login');
      assert.deepEqual(login.type, { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114', display: 'User Authentication' });
      assert.deepEqual(login.subtype, [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110122', display: 'Login' }]);
      assert.equal(login.action, 'E');
      assert.equal(login.outcome, '0');
      assert.equal(security('logout').subtype?.[0].code, '110123');
    });

    it('a failed login is a failure even when answered 200 (the login page again) or 302', () => {
      const failed = security('login-failed', 200);
      assert.equal(failed.outcome, '4');
      assert.equal(failed.subtype?.[0].code, '110122');
      assert.equal(security('login-failed', 302).outcome, '4');
      assert.equal(security('login-failed', 401, 'login').outcomeDesc, '401 Unauthorized (login)');
    });

    it('token issued and refused: the IUA Get Access Token subtype; the issued token only by its jti', () => {
      const issued = security('token-issued');
      assert.deepEqual(issued.subtype, [{ system: 'urn:ihe:event-type-code', code: 'ITI-71', display: 'Get Access Token' }]);
      assert.equal(issued.outcome, '0');
      assert.deepEqual(agentOfType(issued, 'IRCP')!.policy, ['jti-0001']);
      const refused = security('token-refused', 400, 'invalid_grant');
      assert.equal(refused.outcome, '4');
      assert.equal(refused.outcomeDesc, '400 Bad Request (invalid_grant)');
      assert.equal(refused.entity?.length, 1, 'only the request id');
    });
  });

  describe('input checks and ids', () => {
    it('the schema check the other tests rely on does catch a malformed AuditEvent', () => {
      const [event] = buildAuditEvents(input());
      const broken = { ...JSON.parse(JSON.stringify(event)), outcome: '5', agent: [] };
      delete broken.source;
      assert.ok(validator.validate(broken).length >= 2, 'bad outcome code and missing source are reported');
    });


    it('refuses references that are not Type/id and patients that are not Patient/id (a server bug, not data to record)', () => {
      assert.throws(() => buildAuditEvents(input({ entities: [{ reference: 'Observation/o1?name=Smith' }] })), /reference/);
      assert.throws(() => buildAuditEvents(input({ entities: [{ reference: 'Jane Doe' }] })), /reference/);
      assert.throws(() => buildAuditEvents(input({ patients: ['Observation/o1'] })), /Patient reference/);
      assert.throws(() => buildAuditEvents(input({ patients: ['Patient/Jane Doe'] })), /Patient reference/);
      assert.throws(() => buildAuditEvents(input({ entities: [{ reference: 'Observation/o1', versionId: '1 2' }] })), /version/);
    });

    it('takes its ids from options.newId; events of one call share no objects', () => {
      let n = 0;
      const events = buildAuditEvents(input({ patients: ['Patient/a', 'Patient/b'] }), { newId: () => `fixed-${++n}` });
      assert.deepEqual(events.map((e) => e.id), ['fixed-1', 'fixed-2']);
      events[0].agent[0].requestor = true;
      assert.equal(events[1].agent[0].requestor, false);
    });
  });
});
