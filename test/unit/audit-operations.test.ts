// The audit trail operations' requests (src/fhir/operations/audit-export.ts, audit-verify.ts,
// audit-range.ts) through the whole service on the in-memory repository, which keeps no trail
// service: who may call them (scope-check.ts), their parameters (400 naming the parameter), and
// 501 where no audit trail is kept. The data paths are tested over HTTP (test/e2e/audit-export-verify.test.ts).
import assert from 'node:assert/strict';
import { ANONYMOUS_ACCESS, type AccessContext } from '../../src/core/types.js';
import { memoryService } from '../support/memory-service.js';
import { requestsTo, type Reply } from '../support/service-requests.js';

const token = (scopes: string[], extra: Partial<AccessContext> = {}): AccessContext => ({ subject: 'svc', scopes, isAdmin: false, ...extra });

function assertIssue(reply: Reply, status: number, code: string, expression?: string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  const issue = (reply.body as { issue: { code: string; expression?: string[] }[] }).issue[0];
  assert.equal(issue.code, code);
  if (expression) assert.deepEqual(issue.expression, [expression]);
}

describe('audit trail operations: access, parameters, no trail', () => {
  const send = requestsTo(memoryService(), () => 'default');

  it('$export-ndjson and $verify answer 501 not-supported where no audit trail is kept', async () => {
    assertIssue(await send(ANONYMOUS_ACCESS, 'GET', 'AuditEvent/$export-ndjson'), 501, 'not-supported');
    assertIssue(await send(ANONYMOUS_ACCESS, 'GET', 'AuditEvent/$verify'), 501, 'not-supported');
    assertIssue(await send(ANONYMOUS_ACCESS, 'POST', 'AuditEvent/$verify', { body: { resourceType: 'Parameters' }, bodyKind: 'resource' }), 501, 'not-supported');
  });

  it('refuses instants that are not instants with a 400 naming the parameter', async () => {
    for (const [query, parameter] of [
      ['_since=yesterday', '_since'],
      ['_since=2026-11-01', '_since'], // a date: no time, no zone
      ['_since=2026-11-01T10:00:00', '_since'], // no zone
      ['_since=2026-02-31T00:00:00Z', '_since'], // no such day
      ['_until=2026-13-01T00:00:00Z', '_until'],
      ['_since=2026-11-01T00:00:00Z&_since=2026-11-02T00:00:00Z', '_since'],
      ['_since=2026-11-02T00:00:00Z&_until=2026-11-01T00:00:00Z', '_until'],
    ]) {
      assertIssue(await send(ANONYMOUS_ACCESS, 'GET', `AuditEvent/$export-ndjson?${query}`), 400, 'invalid', parameter);
    }
    assertIssue(await send(ANONYMOUS_ACCESS, 'GET', 'AuditEvent/$verify?_since=nope'), 400, 'invalid', '_since');
    const parameters = { resourceType: 'Parameters', parameter: [{ name: '_since', valueInstant: '2026-11-01' }] };
    assertIssue(await send(ANONYMOUS_ACCESS, 'POST', 'AuditEvent/$verify', { body: parameters, bodyKind: 'resource' }), 400, 'invalid');
  });

  it('accepts instants with a fraction and an offset (then answers 501 here)', async () => {
    assertIssue(await send(ANONYMOUS_ACCESS, 'GET', 'AuditEvent/$export-ndjson?_since=2026-11-01T00:00:00.123456%2B02:00&_until=2026-12-01T00:00:00Z'), 501, 'not-supported');
    const parameters = { resourceType: 'Parameters', parameter: [{ name: '_since', valueInstant: '2026-11-01T00:00:00Z' }] };
    assertIssue(await send(ANONYMOUS_ACCESS, 'POST', 'AuditEvent/$verify', { body: parameters, bodyKind: 'resource' }), 501, 'not-supported');
  });

  it('$export-ndjson needs a tenant-wide AuditEvent search scope; others are refused with 403', async () => {
    for (const scopes of [['system/AuditEvent.rs'], ['system/AuditEvent.s'], ['system/*.rs'], ['user/AuditEvent.rs']]) {
      // user/ scopes reach tenant-wide for a Practitioner user (user-reach.ts)
      const access = token(scopes, scopes[0].startsWith('user/') ? { fhirUser: 'Practitioner/1' } : {});
      assertIssue(await send(access, 'GET', 'AuditEvent/$export-ndjson'), 501, 'not-supported');
    }
    for (const [scopes, extra] of [
      [['system/Patient.rs'], {}],
      [['system/AuditEvent.r'], {}],
      [['system/AuditEvent.rs?type=rest'], {}],
      [['patient/AuditEvent.rs'], { patient: 'p1' }],
      [['user/AuditEvent.rs'], { fhirUser: 'Patient/p1' }],
    ] as [string[], Partial<AccessContext>][]) {
      const reply = await send(token(scopes, extra), 'GET', 'AuditEvent/$export-ndjson');
      assertIssue(reply, 403, 'forbidden');
      assert.match(JSON.stringify(reply.body), /AuditEvent\.s/, `${scopes}: names the scope needed`);
    }
  });

  it('$verify is for administrators only, whatever the scopes', async () => {
    for (const scopes of [['system/AuditEvent.rs'], ['system/*.cruds']]) {
      assertIssue(await send(token(scopes), 'GET', 'AuditEvent/$verify'), 403, 'forbidden');
    }
  });

  it('neither may be an entry of a batch (its streamed body is no entry\'s value): that entry answers 400', async () => {
    const batch = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: 'AuditEvent/$export-ndjson' } }, { request: { method: 'GET', url: 'AuditEvent/$verify' } }],
    };
    const reply = await send(ANONYMOUS_ACCESS, 'POST', '', { body: batch, bodyKind: 'resource' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const entries = (reply.body as { entry: { response: { status: string; outcome?: { issue: { diagnostics: string }[] } } }[] }).entry;
    for (const [index, entry] of entries.entries()) {
      assert.match(entry.response.status, /^400/, JSON.stringify(entry));
      assert.match(entry.response.outcome!.issue[0].diagnostics, /cannot be an entry of a batch/, `entry ${index}`);
    }
  });

  it('both are AuditEvent type-level operations only', async () => {
    assertIssue(await send(ANONYMOUS_ACCESS, 'GET', 'Patient/$export-ndjson'), 400, 'not-supported');
    assertIssue(await send(ANONYMOUS_ACCESS, 'GET', '$verify'), 400, 'not-supported');
  });
});
