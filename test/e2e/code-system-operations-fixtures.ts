// Fixtures of the terminology operation tests ($lookup, $subsumes, $validate-code, $translate):
// a small code system with a polyhierarchy, designations, properties and an inactive concept,
// loaded into a tenant's concept storage directly or into the shared terminology, and helpers
// reading Parameters answers.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Parameters, ParametersParameter } from 'fhir/r4.js';
import type pg from 'pg';
import { PgRepository } from '../../src/storage/pg/pg-repository.js';
import { PgSharedTerminology } from '../../src/storage/pg/shared-terminology.js';
import { codeSystemContent } from '../../src/terminology/code-system-content.js';
import { testPool } from '../support/database.js';

/** A unique canonical url (shared rows persist in the one test database). */
export const uniqueUrl = (kind: string) => `urn:test:${kind}:${randomUUID()}`;

/** D is-a B and C; B and C are-a A; E (inactive) is-a A; Z is-a A by a parent property. */
export function sampleCodeSystem(url: string, version = '1'): Record<string, unknown> {
  return {
    resourceType: 'CodeSystem',
    url,
    version,
    name: 'AnimalKingdom',
    title: 'Animal kingdom',
    status: 'active',
    content: 'complete',
    property: [
      { code: 'colour', type: 'code', description: 'The usual colour' },
      { code: 'legs', type: 'integer' },
      { code: 'inactive', type: 'boolean' },
    ],
    concept: [
      {
        code: 'A',
        display: 'Animal',
        concept: [
          {
            code: 'B',
            display: 'Bird of prey',
            designation: [
              { language: 'de', use: { system: 'http://snomed.info/sct', code: '900000000000013009', display: 'Synonym' }, value: 'Greifvogel' },
              { language: 'fr', value: 'Rapace' },
            ],
            property: [{ code: 'colour', valueCode: 'brown' }, { code: 'legs', valueInteger: 2 }],
            concept: [{ code: 'D', display: 'Desert hawk' }],
          },
          { code: 'C', display: 'Cat family', property: [{ code: 'colour', valueCode: 'grey' }] },
          { code: 'E', display: 'Extinct beast', property: [{ code: 'inactive', valueBoolean: true }] },
        ],
      },
      { code: 'Z', display: 'Zebra-like', property: [{ code: 'parent', valueCode: 'A' }] },
    ],
  };
}

/** The tenant id of a test server tenant base (`…/t/{tenant}/fhir`). */
export const tenantOfBase = (base: string): string => /\/t\/([^/]+)\/fhir$/.exec(base)![1];

/** Loads the sample code system into `tenant`'s concept storage (no CodeSystem resource), with D also under C. */
export async function loadTenantCodeSystem(tenant: string, url: string): Promise<void> {
  const pool = await testPool();
  await new PgRepository(pool).withTenant(tenant, async (store) => {
    const { header, concepts, edges } = codeSystemContent(sampleCodeSystem(url));
    const writer = await store.terminology.beginCodeSystem(header, { replace: true });
    await writer.addConcepts(concepts);
    await writer.addParents([...edges, { child: 'D', parent: 'C' }]);
    await writer.finish();
  });
}

/** Loads the sample code system (and any ConceptMaps) as shared terminology, visible to every tenant. */
export async function loadShared(url: string, conceptMaps: Record<string, unknown>[] = []): Promise<void> {
  const pool: pg.Pool = await testPool();
  await new PgSharedTerminology(pool).write(async (writer) => {
    const { header, concepts, edges } = codeSystemContent(sampleCodeSystem(url), 'test');
    const w = await writer.beginCodeSystem(header);
    await w.addConcepts(concepts);
    await w.addParents(edges);
    await w.finish();
    for (const map of conceptMaps) await writer.putResource('ConceptMap', map, 'test');
    await writer.bumpGeneration();
  });
}

/** The parameters of a Parameters answer named `name`. */
export const named = (body: Parameters, name: string): ParametersParameter[] => (body.parameter ?? []).filter((p) => p.name === name);

/** The one parameter `name` (asserted single). */
export function one(body: Parameters, name: string): ParametersParameter {
  const all = named(body, name);
  assert.equal(all.length, 1, `one ${name} in ${JSON.stringify(body)}`);
  return all[0];
}

/** A part of a parameter by name. */
export const part = (p: ParametersParameter, name: string): ParametersParameter | undefined => p.part?.find((x) => x.name === name);

/** property parts as [code, value] pairs, the value as its JSON. */
export const propertiesOf = (body: Parameters): [string, unknown][] =>
  named(body, 'property').map((p) => {
    const value = part(p, 'value')!;
    const [, v] = Object.entries(value).find(([k]) => k.startsWith('value'))!;
    return [part(p, 'code')!.valueCode!, v];
  });

/** A POSTed Parameters body. */
export const parameters = (...parameter: ParametersParameter[]): Parameters => ({ resourceType: 'Parameters', parameter });
