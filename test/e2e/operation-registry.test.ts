// End-to-end: $operations come from the operation registry (src/fhir/operations, FHIR R4
// operations.html): the CapabilityStatement lists them with their OperationDefinition, which the
// server serves at that canonical URL; methods and unknown operations answer as the router says.
import assert from 'node:assert/strict';
import type { CapabilityStatement, OperationDefinition, OperationOutcome } from 'fhir/r4.js';
import { http } from '../support/http.js';
import { useTestServer } from '../support/test-server.js';

describe('operation registry (e2e, postgres)', function () {
  const hearth = useTestServer('postgres', { reindexWorker: false });
  const tenant = hearth.useTenant();

  it('metadata lists $reindex with a definition the server serves', async () => {
    const metadata = await http<CapabilityStatement>(`${tenant.base}/metadata`);
    assert.equal(metadata.status, 200);
    const listed = metadata.body.rest?.[0].operation?.find((o) => o.name === 'reindex');
    assert.equal(listed?.definition, `${tenant.base}/OperationDefinition/hearth-reindex`);
    assert.ok(metadata.body.rest?.[0].resource?.find((r) => r.type === 'Observation')?.operation?.some((o) => o.name === 'reindex'));
    const definition = await http<OperationDefinition>(listed!.definition);
    assert.equal(definition.status, 200);
    assert.equal(definition.body.resourceType, 'OperationDefinition');
    assert.equal(definition.body.code, 'reindex');
    assert.equal(definition.body.url, listed!.definition);
  });

  it('GET on an operation that changes state → 405 allowing POST; an unknown operation → 400', async () => {
    const get = await http<OperationOutcome>(`${tenant.base}/$reindex`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const unknown = await http<OperationOutcome>(`${tenant.base}/Patient/$match`, { method: 'POST', json: { resourceType: 'Parameters' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.issue[0].diagnostics ?? '', /Operation \$match is not supported/);
  });
});
