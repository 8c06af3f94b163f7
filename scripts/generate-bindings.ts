// Generates src/core/generated/bindings.json: for every element of the R4 resource definitions
// typed Coding or CodeableConcept (choice elements included, under their typed JSON name) whose
// binding is `required` or `extensible`, the bound ValueSet (terminologies.html#strength). Binding
// checks on write read it (src/terminology/bindings.ts): required ones refuse codes outside the
// ValueSet, extensible ones warn. Elements typed `code` are left out: the R4 JSON Schema already
// enumerates the codes of their required bindings. Facts of the specification, read from the
// definitions package the search registry already uses (hl7.fhir.r4.examples).
// Run: npx tsx scripts/generate-bindings.ts  and commit the output (test/unit/bindings.test.ts checks it is current)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageDir } from './generate-code-systems.js';

interface ElementDefinition { path: string; type?: { code: string }[]; binding?: { strength?: string; valueSet?: string } }
interface StructureDefinition { kind?: string; derivation?: string; type?: string; snapshot?: { element: ElementDefinition[] } }

export interface BindingEntry {
  /** JSON property names from the resource root, dot-separated (choice elements by their typed name). */
  path: string;
  strength: 'required' | 'extensible';
  valueSet: string;
  type: 'Coding' | 'CodeableConcept';
}

const CODED = new Set(['Coding', 'CodeableConcept']);

/** resource type -> its bound coded elements, sorted. */
export function bindingsOfPackage(dir: string): Record<string, BindingEntry[]> {
  const out: Record<string, BindingEntry[]> = {};
  for (const file of readdirSync(dir).filter((f) => f.startsWith('StructureDefinition-') && f.endsWith('.json')).sort()) {
    const sd = JSON.parse(readFileSync(join(dir, file), 'utf8')) as StructureDefinition;
    if (sd.kind !== 'resource' || sd.derivation !== 'specialization' || !sd.snapshot || !sd.type) continue;
    for (const element of sd.snapshot.element) {
      const { strength, valueSet } = element.binding ?? {};
      if ((strength !== 'required' && strength !== 'extensible') || !valueSet) continue;
      for (const { code } of element.type ?? []) {
        if (!CODED.has(code)) continue;
        const relative = element.path.split('.').slice(1).join('.');
        const path = relative.endsWith('[x]') ? `${relative.slice(0, -3)}${code}` : relative;
        (out[sd.type] ??= []).push({ path, strength, valueSet, type: code as BindingEntry['type'] });
      }
    }
  }
  for (const list of Object.values(out)) list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export const OUTPUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'core', 'generated', 'bindings.json');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const map = bindingsOfPackage(packageDir());
  writeFileSync(OUTPUT, `${JSON.stringify(map, null, 1)}\n`);
  const all = Object.values(map).flat();
  console.log(`${all.length} bound coded elements (${all.filter((b) => b.strength === 'required').length} required) in ${Object.keys(map).length} types -> ${OUTPUT}`);
}
