// Golden snapshots of the search SQL (issue 12, "Search plumbing": new predicates show as diffs).
// For one query per parameter type, modifier and result parameter, the page and count
// statements src/search/sql.ts generates (text and bind values) are compared with
// test/golden/search-sql.txt. A change to generated SQL fails here until the file is rewritten
// with HEARTH_UPDATE_GOLDEN=1 and the diff reviewed and committed with the change.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/core/project-root.js';
import { parseSearchQuery } from '../../../src/search/parse-query.js';
import { createSearchRegistry } from '../../../src/search/registry/registry.js';
import { countStatement, pageStatement } from '../../../src/search/sql.js';
import { resolveTerminology } from '../../../src/search/terminology-plan.js';
import type { TerminologyResolver } from '../../../src/search/types.js';

const SHAPES: readonly [type: string, query: string][] = [
  ['Patient', 'name=smi'],
  ['Patient', 'name=Smithsonian'],
  ['Patient', 'name:exact=Smith'],
  ['Patient', 'name:contains=mit'],
  ['Patient', 'identifier=urn:mrn|123'],
  ['Patient', 'gender=male'],
  ['Patient', 'gender=http://hl7.org/fhir/administrative-gender|male'],
  ['Patient', 'gender:not=male'],
  ['Patient', 'birthdate=ge1970-01-01&birthdate=lt1980'],
  ['Patient', 'birthdate:missing=true'],
  ['Patient', '_id=a,b&_lastUpdated=gt2020-01-01'],
  ['Patient', '_sort=family,-birthdate&_count=5'],
  ['Patient', '_has:Observation:patient:code=8867-4'],
  ['Patient', '_content=fever&_text=cough'],
  ['Observation', 'code=http://loinc.org|8867-4&patient=Patient/p1&_sort=-date'],
  ['Observation', 'code:text=glucose'],
  ['Observation', 'value-quantity=gt100'],
  ['Observation', 'value-quantity=5.4||mmol/L'],
  ['Observation', 'value-quantity=ge1|http://unitsofmeasure.org|g/L'],
  ['Observation', 'subject:Patient.name=Smith'],
  ['Observation', 'component-code-value-quantity=http://loinc.org|8480-6$gt100'],
  ['RiskAssessment', 'probability=gt0.5'],
  ['Location', 'near=52.37|4.9|10|km'],
  ['ValueSet', 'url=http://hl7.org/fhir/ValueSet/administrative-gender'],
  ['Encounter', 'patient=p1&_total=accurate'],
  ['Condition', 'code:below=http://snomed.info/sct|73211009'],
  ['Condition', 'code:above=urn:tenant-cs|x'],
  ['Observation', 'code:in=http://hl7.org/fhir/ValueSet/observation-codes'],
  ['Observation', 'code:not-in=http://example.org/vs'],
  ['Patient', '_has:Condition:subject:code:below=http://snomed.info/sct|73211009'],
];

/** Terminology as resolved before SQL (terminology-plan.ts): a shared and a tenant version, two cached expansions; many codes and few. */
const RESOLVER: TerminologyResolver = {
  hierarchy: async (system) => (system === 'http://snomed.info/sct' ? { id: '42', scope: 'shared' } : { id: '43', scope: 'tenant' }),
  // Many codes under snomed's concept (the subquery form), two over the tenant's (plain probes).
  closureCodes: async (version, code) =>
    version.url === 'http://snomed.info/sct' ? { count: 65 } : { count: 2, codes: [{ s: version.url, c: code }, { s: version.url, c: 'parent-of-x' }] },
  expansion: async (canonical) =>
    canonical.includes('observation-codes') ? { id: '7', drawn: { count: 500 } } : { id: '8', drawn: { count: 1, codes: [{ s: 'http://loinc.org', c: '8867-4' }] } },
};

const GOLDEN = join(projectRoot(), 'test/golden/search-sql.txt');

async function rendered(): Promise<string> {
  const registry = createSearchRegistry();
  const options = { lenient: false, defaultCount: 20, maxCount: 100 };
  const sections: string[] = [];
  for (const [type, raw] of SHAPES) {
    const query = await resolveTerminology(parseSearchQuery(registry, type, new URLSearchParams(raw), options), () => RESOLVER);
    const lastUpdated = registry.get(type, '_lastUpdated');
    const page = pageStatement(query, 't1', lastUpdated);
    const count = countStatement(query, 't1', lastUpdated);
    sections.push([`### ${type}?${raw}`, '-- page', String(page.text), `-- values ${JSON.stringify(page.values)}`, '-- count', String(count.text), `-- values ${JSON.stringify(count.values)}`].join('\n'));
  }
  return `${sections.join('\n\n')}\n`;
}

describe('search SQL golden snapshots (test/golden/search-sql.txt)', () => {
  it('every statement shape is what the golden file holds', async () => {
    const now = await rendered();
    if (process.env.HEARTH_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, now);
    const golden = readFileSync(GOLDEN, 'utf8');
    const [nowSections, goldenSections] = [now, golden].map((text) => text.split('\n\n### '));
    for (let i = 0; i < Math.max(nowSections.length, goldenSections.length); i++) {
      assert.equal(nowSections[i], goldenSections[i], `shape ${i + 1} differs; if intended, rewrite with HEARTH_UPDATE_GOLDEN=1 and review the diff`);
    }
  });
});
