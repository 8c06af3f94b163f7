// A CodeSystem written through the FHIR API loads its concepts into the tenant's concept storage
// (src/fhir/terminology-writes.ts): create, update and delete keep the two in step, a broken
// CodeSystem is refused whole, a failed transaction loads nothing, and every terminology write
// makes cached expansions stale.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { createFhirService } from '../../src/compose.js';
import { loadConfig } from '../../src/core/config.js';
import { ANONYMOUS_ACCESS, type JsonObject } from '../../src/core/types.js';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { newTenant, testPool } from '../support/database.js';
import { requestsTo, type SendAs } from '../support/service-requests.js';
import { requireServices } from '../support/services.js';

const codeSystem = (url: string, codes: string[], extra: JsonObject = {}): JsonObject => ({
  resourceType: 'CodeSystem',
  url,
  status: 'active',
  content: 'complete',
  concept: [{ code: 'root', display: 'Root', concept: codes.map((code) => ({ code, display: `Code ${code}` })) }],
  ...extra,
});

describe('terminology writes (integration)', function () {
  let pool: pg.Pool;
  let repo: PgRepository;
  let tenant: string;
  let send: SendAs;
  let close: () => Promise<void>;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
    repo = new PgRepository(pool);
    const composition = createFhirService(loadConfig({ HEARTH_AUDIT: 'off' }), { pool, mode: 'postgres', close: async () => undefined }, undefined, { analyzeAsWritten: false });
    send = requestsTo(composition.service, () => tenant);
    close = () => composition.maintenance.close();
  });
  after(async () => close?.());
  beforeEach(async () => {
    tenant = await newTenant(pool);
  });

  const post = (resource: JsonObject) => send(ANONYMOUS_ACCESS, 'POST', String(resource.resourceType), { body: resource, bodyKind: 'resource' });
  const put = (resource: JsonObject, id: string) => send(ANONYMOUS_ACCESS, 'PUT', `${String(resource.resourceType)}/${id}`, { body: resource, bodyKind: 'resource' });

  /** The codes stored for `url` (every version the tenant sees), or undefined when none is loaded. */
  async function storedCodes(url: string): Promise<string[] | undefined> {
    return repo.withTenant(tenant, async (store) => {
      const [version] = await store.terminology.codeSystems(url);
      if (!version) return undefined;
      return (await store.terminology.selectConcepts(version, { limit: 100 })).map((c) => c.code);
    });
  }

  it('loads, replaces and drops the concepts of a CodeSystem as it is created, updated and deleted', async () => {
    const url = `urn:test:written:${randomUUID()}`;
    const created = await post(codeSystem(url, ['a', 'b']));
    assert.equal(created.status, 201);
    const id = String(created.body?.id);
    assert.deepEqual(await storedCodes(url), ['a', 'b', 'root']);
    await repo.withTenant(tenant, async (store) => {
      const [version] = await store.terminology.codeSystems(url);
      assert.equal(await store.terminology.subsumes(version, 'root', 'b'), true, 'nesting is the hierarchy');
    });
    assert.equal((await put({ ...codeSystem(url, ['c']), id }, id)).status, 200);
    assert.deepEqual(await storedCodes(url), ['c', 'root'], 'the new version replaces the old concepts');
    assert.equal((await send(ANONYMOUS_ACCESS, 'DELETE', `CodeSystem/${id}`)).status, 200);
    assert.equal(await storedCodes(url), undefined, 'a deleted CodeSystem defines nothing');
  });

  it('takes is-a edges from a property declared with the standard parent URI under its own code (v3 subsumedBy)', async () => {
    const url = `urn:test:subsumed-by:${randomUUID()}`;
    const resource = {
      resourceType: 'CodeSystem',
      url,
      status: 'active',
      content: 'complete',
      property: [{ code: 'subsumedBy', uri: 'http://hl7.org/fhir/concept-properties#parent', type: 'code' }],
      concept: [{ code: '_Group' }, { code: 'member', property: [{ code: 'subsumedBy', valueCode: '_Group' }] }],
    };
    assert.equal((await post(resource)).status, 201);
    await repo.withTenant(tenant, async (store) => {
      const [version] = await store.terminology.codeSystems(url);
      assert.equal(await store.terminology.subsumes(version, '_Group', 'member'), true);
      const [member] = await store.terminology.concepts(version, ['member']);
      assert.equal(member.properties, undefined, 'an edge, not a property');
    });
  });

  it('loads no concepts for a CodeSystem that does not define them all', async () => {
    const url = `urn:test:fragment:${randomUUID()}`;
    assert.equal((await post(codeSystem(url, ['a'], { content: 'fragment' }))).status, 201);
    assert.equal(await storedCodes(url), undefined);
  });

  it('refuses a CodeSystem defining a code twice, or a url and version already defined, storing nothing', async () => {
    const url = `urn:test:broken:${randomUUID()}`;
    const broken = await post(codeSystem(url, ['a', 'a']));
    assert.equal(broken.status, 400);
    assert.match(JSON.stringify(broken.body), /defined twice/);
    assert.match(JSON.stringify(broken.body), /CodeSystem\.concept/);
    assert.equal(await storedCodes(url), undefined);
    const searched = await send(ANONYMOUS_ACCESS, 'GET', `CodeSystem?url=${encodeURIComponent(url)}`);
    assert.equal((searched.body?.entry as unknown[] | undefined)?.length ?? 0, 0, 'the resource is not stored either');

    assert.equal((await post(codeSystem(url, ['a'], { version: '1' }))).status, 201);
    const twice = await post(codeSystem(url, ['b'], { version: '1' }));
    assert.equal(twice.status, 400);
    assert.match(JSON.stringify(twice.body), /CodeSystem\.url/);
    assert.deepEqual(await storedCodes(url), ['a', 'root']);
  });

  it('loads nothing from a transaction that fails', async () => {
    const url = `urn:test:tx:${randomUUID()}`;
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:1', resource: codeSystem(url, ['a']), request: { method: 'POST', url: 'CodeSystem' } },
        { resource: { resourceType: 'Patient', id: 'p' }, request: { method: 'PUT', url: 'Patient/p', ifMatch: 'W/"9"' } },
      ],
    };
    const answer = await send(ANONYMOUS_ACCESS, 'POST', '', { body: bundle, bodyKind: 'resource' });
    assert.ok(answer.status >= 400, `status ${answer.status}`);
    assert.equal(await storedCodes(url), undefined);
  });

  it('makes cached expansions stale on every CodeSystem, ValueSet and ConceptMap write', async () => {
    const generation = () => repo.withTenant(tenant, async (store) => Number((await store.terminology.generations()).tenant));
    const before = await generation();
    await post({ resourceType: 'ValueSet', url: `urn:test:vs:${randomUUID()}`, status: 'active' });
    await post({ resourceType: 'ConceptMap', url: `urn:test:cm:${randomUUID()}`, status: 'active' });
    await post(codeSystem(`urn:test:cs:${randomUUID()}`, ['a']));
    assert.equal(await generation(), before + 3);
    await post({ resourceType: 'Patient' });
    assert.equal(await generation(), before + 3, 'other writes do not');
  });
});
