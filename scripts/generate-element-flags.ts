// Generates src/core/generated/element-flags.json: per R4 resource type, its top-level
// elements with the flags _summary and _elements need (FHIR R4 search.html#summary,
// elementdefinition.html isSummary/min, formats.html#choice for value[x] JSON names).
// Source: the core StructureDefinitions shipped in hl7.fhir.r4.examples (base resource
// definitions only: kind=resource, derivation=specialization; profiles are skipped).
//
// Re-run whenever the resource type list or the spec package changes, and commit the output:
//   npx tsx scripts/generate-element-flags.ts
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { RESOURCE_TYPES } from '../src/core/resource-types.js';
import { projectRoot } from '../src/core/project-root.js';

interface ElementDefinition {
  path: string;
  min?: number;
  isSummary?: boolean;
  type?: Array<{ code: string }>;
}

interface StructureDefinition {
  resourceType: string;
  kind?: string;
  derivation?: string;
  type?: string;
  snapshot?: { element: ElementDefinition[] };
}

/** What summary.ts reads. Choice base names map to their JSON names (only when present). */
interface TypeFlags {
  summary: string[];
  mandatory: string[];
  nonSummary: string[];
  choices?: Record<string, string[]>;
}

const require = createRequire(import.meta.url);
const examplesDir = dirname(require.resolve('hl7.fhir.r4.examples/package.json'));
const outFile = join(projectRoot(), 'src/core/generated/element-flags.json');

function loadBaseDefinition(type: string): StructureDefinition {
  const file = join(examplesDir, `StructureDefinition-${type}.json`);
  if (!existsSync(file)) throw new Error(`No StructureDefinition for ${type} in ${examplesDir}`);
  const sd = JSON.parse(readFileSync(file, 'utf8')) as StructureDefinition;
  // A profile (derivation=constraint) would carry narrowed flags; only the base definition counts.
  if (sd.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.derivation !== 'specialization' || sd.type !== type) {
    throw new Error(`${file} is not the base resource definition of ${type}`);
  }
  if (!sd.snapshot) throw new Error(`${file} has no snapshot`);
  return sd;
}

/** JSON property names of a top-level element: value[x] becomes valueQuantity, valueString, ... */
function jsonNames(element: ElementDefinition, name: string): string[] {
  if (!name.endsWith('[x]')) return [name];
  const base = name.slice(0, -3);
  return (element.type ?? []).map((t) => base + t.code.charAt(0).toUpperCase() + t.code.slice(1));
}

function flagsFor(type: string): TypeFlags {
  const flags: TypeFlags = { summary: [], mandatory: [], nonSummary: [] };
  const choices: Record<string, string[]> = {};
  for (const element of loadBaseDefinition(type).snapshot!.element) {
    const parts = element.path.split('.');
    if (parts.length !== 2) continue; // the root itself, or nested elements
    const name = parts[1];
    const names = jsonNames(element, name);
    if (name.endsWith('[x]')) choices[name.slice(0, -3)] = names;
    (element.isSummary === true ? flags.summary : flags.nonSummary).push(...names);
    if ((element.min ?? 0) >= 1) flags.mandatory.push(...names);
  }
  if (Object.keys(choices).length > 0) flags.choices = choices;
  return flags;
}

// One type per line: compact, yet a change to one type is a one-line diff.
function render(all: Record<string, TypeFlags>): string {
  const lines = Object.entries(all).map(([type, flags]) => `  ${JSON.stringify(type)}: ${JSON.stringify(flags)}`);
  return `{\n${lines.join(',\n')}\n}\n`;
}

function main(): void {
  const all: Record<string, TypeFlags> = {};
  for (const type of RESOURCE_TYPES) all[type] = flagsFor(type);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, render(all));
  console.log(`Wrote ${Object.keys(all).length} resource types to ${outFile}`);
}

main();
