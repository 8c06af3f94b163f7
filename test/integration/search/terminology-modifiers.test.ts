// Token :below, :above, :in and :not-in (search.html#modifiers, issue 12): the codes come from
// concept storage (the is-a closure) and cached ValueSet expansions in SQL, for the tenant's
// own terminology and shared terminology; an unknown system or ValueSet, or a code without its
// system, is a 400 naming the parameter; another tenant's terminology is unknown.
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

/** disorder > (heart > (infarct, angina), lung > (asthma, lung-0 … lung-69), vascular). */
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
        // 70 more lung codes no Condition uses: `disorder` draws more than FEW_CODES (the SQL form).
        { code: 'lung', concept: [{ code: 'asthma' }, ...Array.from({ length: 70 }, (_, i) => ({ code: `lung-${i}` }))] },
        { code: 'vascular' },
      ],
    },
  ],
});

describe('search: token :below, :above, :in and :not-in (integration)', function () {
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

  it('pages the same matches when the engine walks rows first (small pages: the per-row test, not the GIN probes)', async () => {
    for (const [query, all, form] of [
      [q('below', `${url}|disorder`), ['angina', 'asthma', 'heart', 'infarct'], /jsonb_array_elements\(r\.sp -> /],
      [q('above', `${url}|infarct`), ['heart', 'infarct'], /r\.sp @> \$\d+::jsonb OR r\.sp @> \$\d+::jsonb OR r\.sp @> \$\d+::jsonb\)/],
    ] as const) {
      const seen: string[] = [];
      let next: string | undefined = `Condition?${query}&_count=1`;
      while (next) {
        const answer = await send(ANONYMOUS_ACCESS, 'GET', next);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        for (const e of (answer.body?.entry as { resource: { id: string } }[] | undefined) ?? []) seen.push(names.get(e.resource.id) ?? e.resource.id);
        const link = (answer.body?.link as { relation: string; url: string }[]).find((l) => l.relation === 'next');
        next = link ? link.url.replace('http://h/fhir/', '') : undefined;
      }
      assert.deepEqual(seen.sort(), [...all], query);
      // The page came from the walk, not from the GIN statement: many codes tested per row
      // (disorder: 76 codes), few as plain probes (infarct: itself, heart, disorder).
      const explained = await send(ANONYMOUS_ACCESS, 'GET', `Condition?${query}&_count=1&_explain=true`);
      assert.match(JSON.stringify(explained.body), form, query);
    }
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

  it(':in and :not-in match codes of a ValueSet, expanded once and then read from the cache', async () => {
    const vsUrl = `urn:test:vs:${randomUUID()}`;
    const valueSet = {
      resourceType: 'ValueSet',
      url: vsUrl,
      status: 'active',
      compose: { include: [{ system: url, filter: [{ property: 'concept', op: 'is-a', value: 'heart' }] }, { system: 'urn:test:elsewhere', concept: [{ code: 'infarct' }] }] },
    };
    assert.equal((await send(ANONYMOUS_ACCESS, 'POST', 'ValueSet', { body: valueSet, bodyKind: 'resource' })).status, 201);
    const expansions = async () => (await pool.query('SELECT count(*)::int AS n FROM value_set_expansion WHERE tenant_id = $1', [tenant])).rows[0].n as number;
    const before = await expansions();
    assert.deepEqual(await found(`code:in=${encodeURIComponent(vsUrl)}`), ['angina', 'heart', 'infarct', 'other-system']);
    assert.equal(await expansions(), before + 1, 'the first search stored the expansion (its read-only transaction ran again read-write)');
    assert.deepEqual(await found(`code:in=${encodeURIComponent(vsUrl)}`), ['angina', 'heart', 'infarct', 'other-system']);
    assert.equal(await expansions(), before + 1, 'the second one reused it');
    assert.deepEqual(await found(`code:not-in=${encodeURIComponent(vsUrl)}`), ['asthma', 'no-code'], 'not-in: none of its codes, including no code at all');
    const answer = await send(ANONYMOUS_ACCESS, 'GET', `Condition?code:in=${encodeURIComponent(`urn:test:unknown-vs:${randomUUID()}`)}`);
    assert.equal(answer.status, 400);
    assert.match(JSON.stringify(answer.body), /code:in/);

    // A change to the ValueSet makes the cached expansion stale: the next search expands afresh.
    const [stored] = (await send(ANONYMOUS_ACCESS, 'GET', `ValueSet?url=${encodeURIComponent(vsUrl)}`)).body?.entry as { resource: JsonObject }[];
    const narrowed = { ...valueSet, id: stored.resource.id, compose: { include: [{ system: url, concept: [{ code: 'asthma' }] }] } };
    assert.equal((await send(ANONYMOUS_ACCESS, 'PUT', `ValueSet/${String(stored.resource.id)}`, { body: narrowed, bodyKind: 'resource' })).status, 200);
    assert.deepEqual(await found(`code:in=${encodeURIComponent(vsUrl)}`), ['asthma']);
  });

  it('answers a ValueSet larger than HEARTH_EXPAND_MAX_CODES with 422 too-costly, not a timeout', async () => {
    const capped = createFhirService(loadConfig({ HEARTH_AUDIT: 'off', HEARTH_EXPAND_MAX_CODES: '2' }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
    try {
      const sendCapped = requestsTo(capped.service, () => tenant);
      const vsUrl = `urn:test:big-vs:${randomUUID()}`;
      const valueSet = { resourceType: 'ValueSet', url: vsUrl, status: 'active', compose: { include: [{ system: url }] } };
      assert.equal((await sendCapped(ANONYMOUS_ACCESS, 'POST', 'ValueSet', { body: valueSet, bodyKind: 'resource' })).status, 201);
      const answer = await sendCapped(ANONYMOUS_ACCESS, 'GET', `Condition?code:in=${encodeURIComponent(vsUrl)}`);
      assert.equal(answer.status, 422, JSON.stringify(answer.body));
      assert.equal((answer.body?.issue as JsonObject[])[0].code, 'too-costly');
    } finally {
      await capped.maintenance.close();
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
