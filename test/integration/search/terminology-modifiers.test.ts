// Token :below and :above through the is-a closure (search.html#modifiers, issue 12): the codes
// come from concept storage in SQL, for the tenant's own code systems and shared ones; an
// unknown system or a code without its system is a 400 naming the parameter; another tenant's
// code system is unknown.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createFhirService } from '../../../src/compose.js';
import { loadConfig } from '../../../src/core/config.js';
import { ANONYMOUS_ACCESS, type JsonObject } from '../../../src/core/types.js';
import { PgSharedTerminology } from '../../../src/storage/pg/shared-terminology.js';
import { codeSystemContent } from '../../../src/terminology/code-system-content.js';
import { newTenant, testPool } from '../../support/database.js';
import { requestsTo, type SendAs } from '../../support/service-requests.js';
import { requireServices } from '../../support/services.js';

/** disorder > (heart > (infarct, angina), lung > asthma); infarct is also a vascular disorder. */
const hierarchy = (url: string): JsonObject => ({
  resourceType: 'CodeSystem',
  url,
  status: 'active',
  content: 'complete',
  concept: [
    {
      code: 'disorder',
      concept: [
        { code: 'heart', concept: [{ code: 'infarct' }, { code: 'angina' }] },
        { code: 'lung', concept: [{ code: 'asthma' }] },
        { code: 'vascular' },
      ],
    },
  ],
});

describe('search: token :below and :above (integration)', function () {
  let pool: pg.Pool;
  let tenant: string;
  let send: SendAs;
  let close: () => Promise<void>;
  const names = new Map<string, string>();
  let url: string;

  before(async function () {
    await requireServices(this);
    pool = await testPool();
    const composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off' }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
    send = requestsTo(composition.service, () => tenant);
    close = () => composition.maintenance.close();
    tenant = await newTenant(pool);
    url = `urn:test:conditions:${randomUUID()}`;
    assert.equal((await send(ANONYMOUS_ACCESS, 'POST', 'CodeSystem', { body: hierarchy(url), bodyKind: 'resource' })).status, 201);
    for (const [name, code, system] of [
      ['infarct', 'infarct', url],
      ['angina', 'angina', url],
      ['asthma', 'asthma', url],
      ['heart', 'heart', url],
      ['other-system', 'infarct', 'urn:test:elsewhere'],
      ['no-code', undefined, undefined],
    ] as const) {
      const condition: JsonObject = { resourceType: 'Condition', subject: { reference: 'Patient/p' } };
      if (code) condition.code = { coding: [{ system, code }] };
      const created = await send(ANONYMOUS_ACCESS, 'POST', 'Condition', { body: condition, bodyKind: 'resource' });
      assert.equal(created.status, 201);
      names.set(String(created.body?.id), name);
    }
  });
  after(async () => close?.());

  async function found(query: string): Promise<string[]> {
    const answer = await send(ANONYMOUS_ACCESS, 'GET', `Condition?${query}`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return ((answer.body?.entry as { resource: { id: string } }[] | undefined) ?? []).map((e) => names.get(e.resource.id) ?? e.resource.id).sort();
  }

  const q = (modifier: string, value: string) => `code:${modifier}=${encodeURIComponent(value)}`;

  it(':below matches the code and everything under it, in the code system named', async () => {
    assert.deepEqual(await found(q('below', `${url}|heart`)), ['angina', 'heart', 'infarct']);
    assert.deepEqual(await found(q('below', `${url}|disorder`)), ['angina', 'asthma', 'heart', 'infarct']);
    assert.deepEqual(await found(q('below', `${url}|infarct`)), ['infarct'], 'a leaf: itself');
    assert.deepEqual(await found(q('below', `${url}|lung,${url}|infarct`)), ['asthma', 'infarct'], 'comma is OR');
    const counted = await send(ANONYMOUS_ACCESS, 'GET', `Condition?${q('below', `${url}|heart`)}&_summary=count`);
    assert.equal(counted.body?.total, 3, 'counts too');
  });

  it(':above matches the code and everything over it', async () => {
    assert.deepEqual(await found(q('above', `${url}|infarct`)), ['heart', 'infarct']);
    assert.deepEqual(await found(q('above', `${url}|asthma`)), ['asthma']);
  });

  it('works inside a chain and _has', async () => {
    const patient = await send(ANONYMOUS_ACCESS, 'PUT', 'Patient/p', { body: { resourceType: 'Patient', id: 'p' }, bodyKind: 'resource' });
    assert.ok(patient.status === 200 || patient.status === 201);
    const hits = await send(ANONYMOUS_ACCESS, 'GET', `Patient?_has:Condition:subject:${q('below', `${url}|lung`)}`);
    assert.equal(hits.status, 200, JSON.stringify(hits.body));
    assert.deepEqual((hits.body?.entry as { resource: { id: string } }[]).map((e) => e.resource.id), ['p']);
    const none = await send(ANONYMOUS_ACCESS, 'GET', `Patient?_has:Condition:subject:${q('below', `${url}|vascular`)}`);
    assert.equal((none.body?.entry as unknown[] | undefined)?.length ?? 0, 0);
  });

  it('refuses a code without its system, and a code system the tenant does not see, with a 400 naming the parameter', async () => {
    for (const query of [q('below', 'heart'), q('below', `urn:test:unknown:${randomUUID()}|x`), q('above', `|heart`)]) {
      const answer = await send(ANONYMOUS_ACCESS, 'GET', `Condition?${query}`);
      assert.equal(answer.status, 400, query);
      assert.match(JSON.stringify(answer.body), /code:(below|above)/, query);
    }
    const other = tenant;
    tenant = await newTenant(pool);
    try {
      const answer = await send(ANONYMOUS_ACCESS, 'GET', `Condition?${q('below', `${url}|heart`)}`);
      assert.equal(answer.status, 400, "another tenant's code system is unknown here");
    } finally {
      tenant = other;
    }
  });

  it('follows a shared code system for every tenant', async () => {
    const sharedUrl = `urn:test:shared-conditions:${randomUUID()}`;
    await new PgSharedTerminology(pool).write(async (writer) => {
      const { header, concepts, edges } = codeSystemContent(hierarchy(sharedUrl), 'test');
      const w = await writer.beginCodeSystem(header);
      await w.addConcepts(concepts);
      await w.addParents([...edges, { child: 'infarct', parent: 'vascular' }]);
      await w.finish();
    });
    const created = await send(ANONYMOUS_ACCESS, 'POST', 'Condition', {
      body: { resourceType: 'Condition', subject: { reference: 'Patient/p' }, code: { coding: [{ system: sharedUrl, code: 'infarct' }] } },
      bodyKind: 'resource',
    });
    names.set(String(created.body?.id), 'shared-infarct');
    assert.deepEqual(await found(q('below', `${sharedUrl}|vascular`)), ['shared-infarct'], 'through the second parent');
    assert.deepEqual(await found(q('below', `${sharedUrl}|heart`)), ['shared-infarct']);
  });
});
