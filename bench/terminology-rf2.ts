// A generated SNOMED CT RF2 Snapshot for bench:terminology (bench/terminology.ts): what
// `hearth terminology import snomed <dir>` reads (src/terminology/import/snomed.ts), in the
// Release File Specification's column layouts, tab-separated, a header line, CRLF-free:
//   sct2_Concept_Snapshot_INT_<date>.txt            id effectiveTime active moduleId definitionStatusId
//   sct2_Description_Snapshot-en_INT_<date>.txt     id effectiveTime active moduleId conceptId languageCode typeId term caseSignificanceId
//   sct2_Relationship_Snapshot_INT_<date>.txt       id effectiveTime active moduleId sourceId destinationId relationshipGroup typeId characteristicTypeId modifierId
//   der2_cRefset_LanguageSnapshot-en_INT_<date>.txt id effectiveTime active moduleId refsetId referencedComponentId acceptabilityId
// in the directory layout of a release (SnomedCT_.../Snapshot/Terminology, .../Snapshot/Refset/Language).
//
// Content (deterministic for a seed): the root 138875005, the 19 real top-level concepts, then
// `concepts` active concepts in levels 2..DEPTH, level sizes growing geometrically; each concept's
// parent is drawn from the level above with heavy-tailed weights (so subtrees range from one
// concept to tens of thousands) and about 10% have a second parent (a polyhierarchy). Displays are
// 2-4 words of WORDS (so text filters match a few percent), the FSN adds the top-level concept's
// semantic tag, a third of the concepts have a second synonym. 1% more concepts are inactive, with
// an inactive is-a row and inactive descriptions, as a Snapshot has them. SCTIDs carry the
// partition identifier and a Verhoeff check digit like real ones.
import { mkdirSync, rmSync, writeFileSync, createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { prng } from '../test/support/prng.js';

export { prng };

export const SCT_URL = 'http://snomed.info/sct';
export const CORE_MODULE = '900000000000207008';
const IS_A = '116680003';
const FSN = '900000000000003001';
const SYNONYM = '900000000000013009';
const PRIMITIVE = '900000000000074008';
const FULLY_DEFINED = '900000000000073002';
const INFERRED = '900000000000011006';
const EXISTENTIAL = '900000000000451002';
const CASE_INSENSITIVE = '900000000000448009';
const US_ENGLISH = '900000000000509007';
const PREFERRED = '900000000000548007';
const ACCEPTABLE = '900000000000549004';
const DEPTH = 13;
const ROOT = { id: '138875005', display: 'SNOMED CT Concept', tag: 'SNOMED RT+CTV3' };
/** The International Edition's top-level concepts (ids, preferred terms, semantic tags). */
const TOP_LEVEL: [string, string, string][] = [
  ['404684003', 'Clinical finding', 'finding'],
  ['71388002', 'Procedure', 'procedure'],
  ['123037004', 'Body structure', 'body structure'],
  ['105590001', 'Substance', 'substance'],
  ['373873005', 'Pharmaceutical / biologic product', 'product'],
  ['260787004', 'Physical object', 'physical object'],
  ['362981000', 'Qualifier value', 'qualifier value'],
  ['363787002', 'Observable entity', 'observable entity'],
  ['410607006', 'Organism', 'organism'],
  ['243796009', 'Situation with explicit context', 'situation'],
  ['272379006', 'Event', 'event'],
  ['123038009', 'Specimen', 'specimen'],
  ['254291000', 'Staging and scales', 'staging scale'],
  ['48176007', 'Social context', 'social concept'],
  ['308916002', 'Environment or geographical location', 'environment / location'],
  ['370115009', 'Special concept', 'special concept'],
  ['900000000000441003', 'SNOMED CT Model Component', 'metadata'],
  ['78621006', 'Physical force', 'physical force'],
  ['419891008', 'Record artifact', 'record artifact'],
];

/** Words of the generated displays (text filters pick from these). */
export const WORDS = (
  'abdominal abscess acute adrenal allergic anemia aneurysm ankle anterior aortic appendix arterial arthritis asthma atrial ' +
  'atrophy auditory bacterial benign biliary biopsy bladder bleeding blood bone bowel brain breast bronchial burn bursitis ' +
  'calcium cancer carcinoma cardiac cartilage cataract cellulitis cerebral cervical chest chronic colon complete congenital ' +
  'contusion coronary cortical cranial cyst deep deficiency degenerative dental dermal diabetic digital disorder dislocation ' +
  'distal dorsal drainage duct duodenal dysplasia ear edema elbow embolism endocrine epidural esophageal excision eye facial ' +
  'failure femoral fever fibrosis finger fistula fracture gastric genital gland hearing heart hemorrhage hepatic hernia hip ' +
  'hyperplasia immune implant infection inferior inflammation injection injury insufficiency intestinal joint kidney knee ' +
  'laceration lateral left lesion ligament lipid liver lower lumbar lung lymph malignant mandible medial membrane metabolic ' +
  'mild muscle nasal neck necrosis nerve neural obstruction occlusion ocular open oral orbital pain palsy pancreatic partial ' +
  'pelvic peripheral plantar pleural posterior primary proximal pulmonary radial rectal renal repair respiratory retinal right ' +
  'rupture sacral scalp secondary sensory septic severe shoulder sinus skeletal skin spinal spleen sprain stenosis stomach ' +
  'superficial superior syndrome tendon thoracic thyroid tibial tissue toe tonsil total tracheal transplant trauma tumor ulcer ' +
  'upper ureteral urinary uterine valve vascular venous vertebral viral wrist'
).split(' ');

// Verhoeff check digit (SNOMED CT identifiers end with one).
const D = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1], [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const P = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 7, 0, 6, 8], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1], [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];
export function verhoeff(digits: string): string {
  let c = 0;
  const reversed = digits.split('').reverse();
  for (let i = 0; i < reversed.length; i++) c = D[c][P[(i + 1) % 8][Number(reversed[i])]];
  return String(INV[c]);
}
/** An SCTID: item identifier, partition (00 concept, 01 description, 02 relationship), check digit. */
export const sctId = (item: number, partition: '00' | '01' | '02') => `${item}${partition}${verhoeff(`${item}${partition}`)}`;

export interface GeneratedHierarchy {
  /** Active concept codes; index 0 the root, 1..19 the top level. */
  codes: string[];
  displays: string[];
  /** Level of each concept (0 the root). */
  levels: number[];
  /** Parents of each concept (indexes), one or two. */
  parents: number[][];
  children: number[][];
  /** Inactive concepts' codes (not in codes). */
  inactive: string[];
}

/** The hierarchy of `count` generated concepts (plus the root and the top level), deterministic for `seed`. */
export function generateHierarchy(count: number, seed: number): GeneratedHierarchy {
  const random = prng(seed);
  const codes: string[] = [ROOT.id, ...TOP_LEVEL.map((t) => t[0])];
  const displays: string[] = [ROOT.display, ...TOP_LEVEL.map((t) => t[1])];
  const levels: number[] = [0, ...TOP_LEVEL.map(() => 1)];
  const parents: number[][] = [[], ...TOP_LEVEL.map(() => [0])];
  // Level sizes 2..DEPTH: TOP * r^(k-1), r solved so that they add up to `count`.
  const top = TOP_LEVEL.length;
  const total = (r: number) => Array.from({ length: DEPTH - 1 }, (_, k) => top * r ** (k + 1)).reduce((a, b) => a + b, 0);
  let lo = 0.01;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (total(mid) < count) lo = mid;
    else hi = mid;
  }
  const sizes = Array.from({ length: DEPTH - 1 }, (_, k) => top * lo ** (k + 1));
  const rounded = sizes.map(Math.floor);
  rounded[rounded.length - 1] += count - rounded.reduce((a, b) => a + b, 0);
  let previous = Array.from({ length: top }, (_, i) => i + 1);
  const word = () => WORDS[Math.floor(random() * WORDS.length)];
  const phrase = () => {
    const n = 2 + Math.floor(random() * 3);
    const words: string[] = [];
    while (words.length < n) {
      const w = word();
      if (!words.includes(w)) words.push(w);
    }
    return words.join(' ');
  };
  for (let level = 2; level <= DEPTH; level++) {
    // Heavy-tailed weights: a few concepts of the level above get most of the children.
    const weights = previous.map(() => (1 / Math.max(1e-6, random())) ** 0.9);
    const cumulative: number[] = [];
    let sum = 0;
    for (const w of weights) cumulative.push((sum += w));
    const draw = () => {
      const x = random() * sum;
      let a = 0;
      let b = cumulative.length - 1;
      while (a < b) {
        const m = (a + b) >> 1;
        if (cumulative[m] < x) a = m + 1;
        else b = m;
      }
      return previous[a];
    };
    const current: number[] = [];
    for (let i = 0; i < rounded[level - 2]; i++) {
      const index = codes.length;
      codes.push(sctId(1_000_000 + index, '00'));
      const capitalised = phrase();
      displays.push(capitalised[0].toUpperCase() + capitalised.slice(1));
      levels.push(level);
      const first = draw();
      const own = [first];
      if (random() < 0.1 && previous.length > 1) {
        let second = previous[Math.floor(random() * previous.length)];
        if (second === first) second = previous[(previous.indexOf(first) + 1) % previous.length];
        own.push(second);
      }
      parents.push(own);
      current.push(index);
    }
    if (current.length > 0) previous = current;
  }
  const children: number[][] = codes.map(() => []);
  parents.forEach((ps, child) => ps.forEach((p) => children[p].push(child)));
  const inactive = Array.from({ length: Math.ceil(count / 100) }, (_, i) => sctId(9_000_000 + i, '00'));
  return { codes, displays, levels, parents, children, inactive };
}

/** The concept itself and everything below it (indexes). */
export function descendantsOf(h: GeneratedHierarchy, index: number): Set<number> {
  const seen = new Set<number>([index]);
  const stack = [index];
  while (stack.length > 0) {
    for (const c of h.children[stack.pop()!]) {
      if (!seen.has(c)) {
        seen.add(c);
        stack.push(c);
      }
    }
  }
  return seen;
}

/**
 * Up to `count` concepts whose subtrees (themselves included) are nearest `size` concepts, nearest
 * first, with those subtrees. Subtrees along the first parent shortlist; exact ones (polyhierarchy) decide.
 */
export function conceptsWithSubtree(h: GeneratedHierarchy, size: number, count = 1): { index: number; subtree: Set<number> }[] {
  const tree = h.codes.map(() => 1);
  for (let i = h.codes.length - 1; i > 0; i--) tree[h.parents[i][0]] += tree[i];
  const shortlist = tree.map((n, i) => [Math.abs(n - size), i]).filter(([, i]) => i > 0).sort((a, b) => a[0] - b[0]).slice(0, Math.max(12, 3 * count));
  return shortlist
    .map(([, index]) => ({ index, subtree: descendantsOf(h, index) }))
    .sort((a, b) => Math.abs(a.subtree.size - size) - Math.abs(b.subtree.size - size))
    .slice(0, count);
}

/** Deterministic UUIDs for reference set members. */
const uuidFrom = (random: () => number) => {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};

class Lines {
  private buffer: string[] = [];
  private readonly stream;
  constructor(path: string, header: string[]) {
    this.stream = createWriteStream(path);
    this.buffer.push(header.join('\t'));
  }
  async add(fields: string[]): Promise<void> {
    this.buffer.push(fields.join('\t'));
    if (this.buffer.length >= 5000) await this.flush();
  }
  private async flush(): Promise<void> {
    if (!this.stream.write(`${this.buffer.join('\r\n')}\r\n`)) await once(this.stream, 'drain');
    this.buffer = [];
  }
  async close(): Promise<void> {
    if (this.buffer.length > 0) await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/**
 * Writes the release under `dir` (kept and reused when complete: generation is deterministic).
 * Returns the directory to import. Lines end with CRLF, as SNOMED International's files do.
 */
export async function writeRf2Release(dir: string, h: GeneratedHierarchy, effectiveTime: string, seed: number): Promise<string> {
  const release = join(dir, `SnomedCT_HearthBench_PRODUCTION_${effectiveTime}T120000Z`);
  if (existsSync(join(dir, '.complete'))) return release;
  rmSync(dir, { recursive: true, force: true });
  const terminology = join(release, 'Snapshot', 'Terminology');
  const language = join(release, 'Snapshot', 'Refset', 'Language');
  mkdirSync(terminology, { recursive: true });
  mkdirSync(language, { recursive: true });
  const random = prng(seed ^ 0x5eed);
  const concepts = new Lines(join(terminology, `sct2_Concept_Snapshot_INT_${effectiveTime}.txt`), ['id', 'effectiveTime', 'active', 'moduleId', 'definitionStatusId']);
  const descriptions = new Lines(join(terminology, `sct2_Description_Snapshot-en_INT_${effectiveTime}.txt`), [
    'id', 'effectiveTime', 'active', 'moduleId', 'conceptId', 'languageCode', 'typeId', 'term', 'caseSignificanceId',
  ]);
  const relationships = new Lines(join(terminology, `sct2_Relationship_Snapshot_INT_${effectiveTime}.txt`), [
    'id', 'effectiveTime', 'active', 'moduleId', 'sourceId', 'destinationId', 'relationshipGroup', 'typeId', 'characteristicTypeId', 'modifierId',
  ]);
  const refset = new Lines(join(language, `der2_cRefset_LanguageSnapshot-en_INT_${effectiveTime}.txt`), [
    'id', 'effectiveTime', 'active', 'moduleId', 'refsetId', 'referencedComponentId', 'acceptabilityId',
  ]);
  let descriptionItem = 1_000_000;
  let relationshipItem = 1_000_000;
  const tagOf = (index: number): string => {
    let i = index;
    while (h.levels[i] > 1) i = h.parents[i][0];
    return i === 0 ? ROOT.tag : TOP_LEVEL[i - 1][2];
  };
  const describe = async (conceptId: string, active: boolean, fsn: string, synonyms: string[]) => {
    const a = active ? '1' : '0';
    const terms: [string, string, string][] = [[fsn, FSN, PREFERRED], ...synonyms.map((s, i): [string, string, string] => [s, SYNONYM, i === 0 ? PREFERRED : ACCEPTABLE])];
    for (const [term, type, acceptability] of terms) {
      const id = sctId(descriptionItem++, '01');
      await descriptions.add([id, effectiveTime, a, CORE_MODULE, conceptId, 'en', type, term, CASE_INSENSITIVE]);
      await refset.add([uuidFrom(random), effectiveTime, a, CORE_MODULE, US_ENGLISH, id, acceptability]);
    }
  };
  for (let i = 0; i < h.codes.length; i++) {
    const code = h.codes[i];
    await concepts.add([code, effectiveTime, '1', CORE_MODULE, random() < 0.2 ? FULLY_DEFINED : PRIMITIVE]);
    const display = h.displays[i];
    const synonyms = [display];
    if (random() < 1 / 3) synonyms.push(`${display} ${WORDS[Math.floor(random() * WORDS.length)]}`);
    await describe(code, true, `${display} (${tagOf(i)})`, synonyms);
    for (const parent of h.parents[i]) {
      await relationships.add([sctId(relationshipItem++, '02'), effectiveTime, '1', CORE_MODULE, code, h.codes[parent], '0', IS_A, INFERRED, EXISTENTIAL]);
    }
  }
  for (const [n, code] of h.inactive.entries()) {
    await concepts.add([code, effectiveTime, '0', CORE_MODULE, PRIMITIVE]);
    await describe(code, false, `Retired concept ${n} (finding)`, [`Retired concept ${n}`]);
    await relationships.add([sctId(relationshipItem++, '02'), effectiveTime, '0', CORE_MODULE, code, TOP_LEVEL[0][0], '0', IS_A, INFERRED, EXISTENTIAL]);
  }
  await Promise.all([concepts.close(), descriptions.close(), relationships.close(), refset.close()]);
  writeFileSync(join(dir, '.complete'), new Date().toISOString());
  return release;
}
