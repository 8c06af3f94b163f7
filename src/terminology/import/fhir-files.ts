// FHIR terminology resources from files (docs/terminology-import.md, "fhir"): a CodeSystem,
// ValueSet or ConceptMap JSON file, a Bundle of them, a directory of JSON files, or an NPM FHIR
// package (FHIR NPM Package Specification: a .tgz whose resources sit in package/, or such a
// package/ directory unpacked). Only the package's own folder is read: package/example/ and
// package/other/ hold examples and non-resources.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { JsonObject } from '../../core/types.js';
import type { FhirResource } from './run-import.js';
import { tarGzEntries } from './tar.js';

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface FhirFileOptions {
  /**
   * Read only files named CodeSystem-*, ValueSet-*, ConceptMap-* (the NPM package convention
   * `<type>-<id>.json`): the preload's shortcut past a package's thousands of other examples.
   */
  terminologyNamesOnly?: boolean;
  /** Told of a file that is not JSON instead of failing (the preload skips and counts it). */
  onBroken?: (origin: string, reason: string) => void;
}

const TERMINOLOGY_NAME = /^(CodeSystem|ValueSet|ConceptMap)-.+\.json$/;
/** Files of a package folder that are not resources. */
const NOT_RESOURCES = new Set(['package.json', '.index.json', 'ig-r4.json']);

/** The resources of one parsed JSON document: itself, or a Bundle's entries. */
function* resourcesOf(json: unknown, origin: string): Generator<FhirResource> {
  if (!isObject(json)) throw new Error(`${origin}: not a JSON object`);
  if (json.resourceType === 'Bundle') {
    const entries = Array.isArray(json.entry) ? json.entry : [];
    for (const [i, entry] of entries.entries()) if (isObject(entry) && isObject(entry.resource)) yield { resource: entry.resource, origin: `${origin}#entry[${i}]` };
    return;
  }
  yield { resource: json, origin };
}

/** The resources of one file's text; a broken file throws, or is reported to onBroken and yields nothing. */
function* resourcesOfText(text: string, origin: string, options: FhirFileOptions): Generator<FhirResource> {
  let json: unknown;
  try {
    json = JSON.parse(text);
    if (!isObject(json)) throw new Error('not a JSON object');
  } catch (error) {
    const reason = `not valid JSON (${(error as Error).message})`;
    if (!options.onBroken) throw new Error(`${origin}: ${reason}`, { cause: error });
    options.onBroken(origin, reason);
    return;
  }
  yield* resourcesOf(json, origin);
}

async function* jsonFilesOf(dir: string, options: FhirFileOptions): AsyncGenerator<FhirResource> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json') && !NOT_RESOURCES.has(n) && (!options.terminologyNamesOnly || TERMINOLOGY_NAME.test(n))).sort();
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    yield* resourcesOfText(await readFile(path, 'utf8'), name, options);
  }
}

/** Every resource in `paths` (files, directories, packages), one at a time. */
export async function* fhirResources(paths: readonly string[], options: FhirFileOptions = {}): AsyncGenerator<FhirResource> {
  for (const path of paths) {
    const info = await stat(path);
    if (info.isDirectory()) {
      // An unpacked package: its resources are in package/ (or this is that folder).
      const inner = join(path, 'package');
      const packaged = await stat(join(inner, 'package.json')).then((s) => s.isFile(), () => false);
      yield* jsonFilesOf(packaged ? inner : path, options);
    } else if (/\.(tgz|tar\.gz)$/i.test(path)) {
      const want = (p: string) => {
        const match = /^package\/([^/]+\.json)$/.exec(p);
        return match !== null && !NOT_RESOURCES.has(match[1]) && (!options.terminologyNamesOnly || TERMINOLOGY_NAME.test(match[1]));
      };
      for await (const entry of tarGzEntries(path, want)) yield* resourcesOfText(entry.data.toString('utf8'), `${basename(path)}:${entry.path}`, options);
    } else {
      yield* resourcesOfText(await readFile(path, 'utf8'), basename(path), options);
    }
  }
}
