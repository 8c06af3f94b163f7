// Generates src/core/generated/code-systems.json: for every element of type `code` in the R4
// resource definitions whose binding is `required` and whose ValueSet draws from exactly one code
// system, that system (Patient.gender -> http://hl7.org/fhir/administrative-gender). A token
// search parameter over such elements indexes their codes with the system too, so
// `gender=http://hl7.org/fhir/administrative-gender|male` matches (issue 12). Facts of the
// specification, read from the definitions package the search registry already uses
// (hl7.fhir.r4.examples: StructureDefinition-*.json, ValueSet-*.json).
// Run: npx tsx scripts/generate-code-systems.ts  and commit the output (test/unit/code-systems.test.ts checks it is current)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ElementDefinition { path: string; type?: { code: string }[]; binding?: { strength?: string; valueSet?: string } }
interface StructureDefinition { kind?: string; derivation?: string; abstract?: boolean; type?: string; snapshot?: { element: ElementDefinition[] } }
interface ValueSet { url?: string; compose?: { include?: { system?: string; valueSet?: string[]; filter?: unknown[] }[]; exclude?: unknown[] } }

/** path -> code system, sorted by path. */
export function codeSystemsOfPackage(dir: string): Record<string, string> {
  const read = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown;
  const files = readdirSync(dir);
  const valueSets = new Map<string, ValueSet>();
  for (const file of files.filter((f) => f.startsWith('ValueSet-') && f.endsWith('.json'))) {
    const vs = read(file) as ValueSet;
    if (vs.url) valueSets.set(vs.url, vs);
  }
  const out: Record<string, string> = {};
  for (const file of files.filter((f) => f.startsWith('StructureDefinition-') && f.endsWith('.json'))) {
    const sd = read(file) as StructureDefinition;
    if (sd.kind !== 'resource' || sd.derivation !== 'specialization' || !sd.snapshot) continue;
    for (const element of sd.snapshot.element) {
      if (element.type?.length !== 1 || element.type[0].code !== 'code') continue;
      if (element.binding?.strength !== 'required' || !element.binding.valueSet) continue;
      const vs = valueSets.get(element.binding.valueSet.split('|')[0]);
      const include = vs?.compose?.include ?? [];
      if (include.length !== 1 || vs?.compose?.exclude?.length || include[0].valueSet?.length || !include[0].system) continue;
      out[element.path] = include[0].system;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function packageDir(): string {
  return dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));
}

export const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'core', 'generated', 'code-systems.json');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const map = codeSystemsOfPackage(packageDir());
  writeFileSync(OUTPUT, `${JSON.stringify(map, null, 1)}\n`);
  console.log(`${Object.keys(map).length} code elements with one bound code system -> ${OUTPUT}`);
}
