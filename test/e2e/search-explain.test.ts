// _explain=true: the generated SQL and PostgreSQL's plan for operators; refused to non-admins.
import assert from 'node:assert/strict';
import type { OperationOutcome } from 'fhir/r4.js';
import { searchInteraction } from '../../src/fhir/interactions/search.js';
import type { InteractionDeps } from '../../src/fhir/interactions/context.js';
import { FhirError } from '../../src/core/errors.js';
import type { FhirRequest } from '../../src/core/types.js';
import type { ResourceStore } from '../../src/storage/resource-store.js';
import { http } from '../support/http.js';
import { useTestServer } from '../support/test-server.js';

describe('search _explain (e2e, postgres)', function () {
  const hearth = useTestServer('postgres');
  const tenant = hearth.useTenant();

  it('answers an OperationOutcome with the SQL (placeholders only), bind values and the plan', async () => {
    await http(`${tenant.base}/Patient/x1`, { method: 'PUT', json: { resourceType: 'Patient', id: 'x1', name: [{ family: "O'Brien" }] } });
    const res = await http<OperationOutcome>(`${tenant.base}/Patient?name=o'brien&_explain=true`);
    assert.equal(res.status, 200);
    assert.equal(res.body.resourceType, 'OperationOutcome');
    const [sql, binds, plan] = res.body.issue.map((i) => i.diagnostics ?? '');
    assert.match(sql, /^SQL: SELECT .* FROM "patient" r WHERE r\.tenant_id = \$1/);
    assert.ok(!sql.includes("o'brien"), 'the value is a bind parameter, not in the SQL');
    assert.match(binds, /o'brien/);
    assert.match(plan, /^Plan:\n/);
    assert.match(plan, /Execution Time/);
  });

  it('_explain must be true or false', async () => {
    const res = await http<OperationOutcome>(`${tenant.base}/Patient?_explain=yes`);
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.issue[0].expression, ['_explain']);
  });
});

describe('search _explain for a non-administrator', () => {
  it('is refused with 403 before any SQL runs', async () => {
    const req = {
      method: 'GET',
      tenantId: 't',
      baseUrl: 'http://h/fhir',
      path: ['Patient'],
      query: new URLSearchParams('_explain=true'),
      prefer: {},
      access: { subject: 'app', scopes: ['patient/*.read'], isAdmin: false },
      requestId: 'r',
    } as FhirRequest;
    let queried = false;
    const deps = {
      searchParams: { load: async () => ({ searching: {} }) },
      search: {
        registry: {},
        parse: () => ({ explain: true, filters: [], warnings: [], ignored: [] }),
        explain: async () => {
          queried = true;
          return { sql: 'SELECT 1', values: [], plan: '' };
        },
      },
    } as unknown as InteractionDeps;
    await assert.rejects(searchInteraction(req, deps, 'Patient', req.query).run({} as ResourceStore), (e: unknown) => e instanceof FhirError && e.status === 403);
    assert.equal(queried, false, 'no EXPLAIN ANALYZE ran for the refused request');
  });
});
