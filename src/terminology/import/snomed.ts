// SNOMED CT from an RF2 Snapshot as http://snomed.info/sct (terminologies.html SNOMED CT; the
// "Using SNOMED CT with HL7 FHIR" guide for the version URI). Files: sct2_Concept_Snapshot* (which
// concepts, active), sct2_Description_Snapshot-en* (fully specified names and synonyms),
// sct2_Relationship_Snapshot* (active rows of type 116680003 |Is a| are the is-a edges), and, if
// present, der2_cRefset_LanguageSnapshot-en* to tell each concept's preferred synonym.
//
// Memory: one entry per concept (its names) is held between the files; 350k concepts with their
// active English descriptions take about 200 MB. Edges stream straight to storage.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CodeSystemHeader, ConceptProperty, Designation, PropertyDef } from '../../storage/terminology-store.js';
import { ImportError } from './errors.js';
import { filesUnder, pick, required } from './files.js';
import { effectiveTimeOf, isSctId, rf2Rows } from './rf2.js';
import type { CodeSystemSource } from './source.js';

export const SNOMED_URL = 'http://snomed.info/sct';

const IS_A = '116680003';
const FSN = '900000000000003001';
const SYNONYM = '900000000000013009';
const PREFERRED = '900000000000548007';
const FULLY_DEFINED = '900000000000073002';
/** US English, then GB English language reference sets: the first one present says which synonym is preferred. */
const LANGUAGE_REFSETS = ['900000000000509007', '900000000000508004'];
/** Modules of the International Edition's core and model component. */
const INTERNATIONAL_MODULES = new Set(['900000000000207008', '900000000000012004']);
const INTERNATIONAL_EDITION = '900000000000207008';

const PROPERTY_DEFS: PropertyDef[] = [
  { code: 'moduleId', type: 'code', uri: `${SNOMED_URL}#moduleId`, description: 'The module the concept belongs to' },
  { code: 'sufficientlyDefined', type: 'boolean', uri: `${SNOMED_URL}#sufficientlyDefined`, description: 'Fully defined (definitionStatusId 900000000000073002)' },
];

const USE_FSN = { system: SNOMED_URL, code: FSN, display: 'Fully specified name' };
const USE_SYNONYM = { system: SNOMED_URL, code: SYNONYM, display: 'Synonym' };

interface Entry {
  active: boolean;
  module: string;
  defined: boolean;
  fsn?: string;
  preferred?: string;
  /** Other active synonyms (terms only: designations are built when the concept is written). */
  synonyms?: string[];
}

/** "Heart attack (disorder)" -> "Heart attack": the FSN without its semantic tag. */
export const withoutSemanticTag = (fsn: string) => fsn.replace(/\s*\([^()]*\)\s*$/, '');

/** The version URI of an edition: http://snomed.info/sct/<module>/version/<YYYYMMDD>. */
export const snomedVersion = (module: string, effectiveTime: string) => `${SNOMED_URL}/${module}/version/${effectiveTime}`;

export async function snomedSource(paths: readonly string[]): Promise<CodeSystemSource> {
  const files = await filesUnder(paths, 6);
  const conceptFile = required(pick(files, /^sct2_Concept_Snapshot.*\.txt$/i, 'sct2_Concept_Snapshot'), 'sct2_Concept_Snapshot file', paths);
  const descriptionFile = required(pick(files, /^sct2_Description_Snapshot-en.*\.txt$/i, 'sct2_Description_Snapshot-en'), 'sct2_Description_Snapshot-en file', paths);
  const relationshipFile = required(pick(files, /^sct2_Relationship_Snapshot.*\.txt$/i, 'sct2_Relationship_Snapshot'), 'sct2_Relationship_Snapshot file', paths);
  const languageFile = pick(files, /^der2_cRefset_LanguageSnapshot-en.*\.txt$/i, 'der2_cRefset_LanguageSnapshot-en');
  const effectiveTime = effectiveTimeOf(conceptFile);
  // The concepts, read when the header is asked for (the edition's module is learnt from them).
  let concepts: Map<string, Entry> | undefined;
  let edition = INTERNATIONAL_EDITION;

  const readConcepts = async (counter?: { bytesDone: number }) => {
    const map = new Map<string, Entry>();
    const modules = new Map<string, number>();
    for await (const row of rf2Rows(conceptFile, ['id', 'active', 'moduleId', 'definitionStatusId'], counter)) {
      const id = row.get('id');
      if (!isSctId(id)) throw new ImportError(conceptFile, row.line, `id '${id}' is not a SNOMED CT identifier`);
      if (map.has(id)) throw new ImportError(conceptFile, row.line, `concept ${id} is listed twice (a Snapshot has one row per concept)`);
      const module = row.get('moduleId');
      map.set(id, { active: row.get('active') === '1', module, defined: row.get('definitionStatusId') === FULLY_DEFINED });
      if (!INTERNATIONAL_MODULES.has(module)) modules.set(module, (modules.get(module) ?? 0) + 1);
    }
    // An edition's own module holds most of its non-international concepts.
    let most = 0;
    for (const [module, n] of modules) if (n > most) [edition, most] = [module, n];
    return map;
  };

  return {
    format: 'snomed',
    files: [conceptFile, descriptionFile, relationshipFile, ...(languageFile ? [languageFile] : [])],
    async header(): Promise<CodeSystemHeader> {
      if (!effectiveTime) throw new Error(`${basename(conceptFile)}: no effective time (_YYYYMMDD.txt) in the file name; give --version`);
      concepts ??= await readConcepts();
      const version = snomedVersion(edition, effectiveTime);
      const resource = {
        resourceType: 'CodeSystem',
        url: SNOMED_URL,
        version,
        name: 'SNOMED_CT',
        title: 'SNOMED CT',
        status: 'active',
        publisher: 'SNOMED International',
        copyright: 'This content includes SNOMED Clinical Terms® (SNOMED CT®), used by permission of SNOMED International; use requires a licence (an Affiliate licence, or national membership).',
        caseSensitive: true,
        hierarchyMeaning: 'is-a',
        content: 'complete',
        property: PROPERTY_DEFS,
      };
      return { url: SNOMED_URL, version, name: 'SNOMED_CT', title: 'SNOMED CT', status: 'active', content: 'complete', caseSensitive: true, hierarchyMeaning: 'is-a', source: 'snomed', propertyDefs: PROPERTY_DEFS, resource };
    },
    async emit(sink, progress) {
      progress.file = basename(conceptFile);
      // Read already when the header was asked for: count its bytes as done.
      if (concepts) progress.bytesDone += (await stat(conceptFile)).size;
      const map = concepts ?? (await readConcepts(progress));
      concepts = undefined;
      // Preferred synonyms per language reference set (only the first set present is used).
      let preferredIds: Set<string> | undefined;
      if (languageFile) {
        progress.file = basename(languageFile);
        const byRefset = new Map<string, Set<string>>();
        for await (const row of rf2Rows(languageFile, ['active', 'refsetId', 'referencedComponentId', 'acceptabilityId'], progress)) {
          if (row.get('active') !== '1' || row.get('acceptabilityId') !== PREFERRED) continue;
          const refset = row.get('refsetId');
          if (!LANGUAGE_REFSETS.includes(refset)) continue;
          let set = byRefset.get(refset);
          if (!set) byRefset.set(refset, (set = new Set()));
          set.add(row.get('referencedComponentId'));
        }
        preferredIds = LANGUAGE_REFSETS.map((r) => byRefset.get(r)).find((s) => s !== undefined);
      }
      progress.file = basename(descriptionFile);
      for await (const row of rf2Rows(descriptionFile, ['id', 'active', 'conceptId', 'languageCode', 'typeId', 'term'], progress)) {
        if (row.get('active') !== '1') continue;
        const conceptId = row.get('conceptId');
        const entry = map.get(conceptId);
        if (!entry) throw new ImportError(descriptionFile, row.line, `conceptId ${conceptId} is not in ${basename(conceptFile)}`);
        const type = row.get('typeId');
        const term = row.get('term');
        if (type === FSN) entry.fsn = term;
        else if (type === SYNONYM) {
          if (preferredIds?.has(row.get('id')) && entry.preferred === undefined) entry.preferred = term;
          else (entry.synonyms ??= []).push(term);
        }
      }
      preferredIds = undefined;
      for (const [code, entry] of map) {
        const designations: Designation[] = [];
        if (entry.fsn) designations.push({ language: 'en', use: USE_FSN, value: entry.fsn });
        if (entry.preferred) designations.push({ language: 'en', use: USE_SYNONYM, value: entry.preferred });
        for (const value of entry.synonyms ?? []) designations.push({ language: 'en', use: USE_SYNONYM, value });
        const display = entry.preferred ?? (entry.fsn !== undefined ? withoutSemanticTag(entry.fsn) : undefined);
        const properties: ConceptProperty[] = [
          { code: 'moduleId', type: 'code', value: entry.module },
          { code: 'sufficientlyDefined', type: 'boolean', value: entry.defined },
        ];
        entry.synonyms = undefined;
        await sink.concept({ code, ...(display ? { display } : {}), active: entry.active, ...(designations.length > 0 ? { designations } : {}), properties });
      }
      progress.file = basename(relationshipFile);
      for await (const row of rf2Rows(relationshipFile, ['active', 'sourceId', 'destinationId', 'typeId'], progress)) {
        if (row.get('active') !== '1' || row.get('typeId') !== IS_A) continue;
        const child = row.get('sourceId');
        const parent = row.get('destinationId');
        if (!map.has(child) || !map.has(parent)) throw new ImportError(relationshipFile, row.line, `an is-a relationship names a concept not in ${basename(conceptFile)}`);
        await sink.edge({ child, parent });
      }
    },
  };
}
