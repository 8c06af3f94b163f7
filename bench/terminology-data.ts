// Resources for bench:terminology (bench/terminology.ts): Observations coded from the generated
// SNOMED CT hierarchy as NDJSON for `hearth load`, and the bodies of the write benchmark.
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng, SCT_URL, type GeneratedHierarchy } from './terminology-rf2.js';

const LINES_PER_FILE = 50_000;
const PATIENTS = 20_000;
const CATEGORY = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'exam', display: 'Exam' }] };

/** An Observation of concept `index`, for patient `patient`, at a time drawn from `random`. */
export function benchObservation(h: GeneratedHierarchy, index: number, patient: number, random: () => number): Record<string, unknown> {
  const day = Math.floor(random() * 3650);
  const effective = new Date(Date.UTC(2015, 0, 1) + day * 86_400_000 + Math.floor(random() * 86_400) * 1000).toISOString().replace('.000', '');
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [CATEGORY],
    code: { coding: [{ system: SCT_URL, code: h.codes[index], display: h.displays[index] }], text: h.displays[index] },
    subject: { reference: `Patient/bench-${patient}` },
    effectiveDateTime: effective,
  };
}

/** The concepts Observations are coded with: every generated concept below the top level. */
export const codedConcepts = (h: GeneratedHierarchy): number => h.codes.length - 20;

/**
 * `count` Observations, each coded with a concept drawn uniformly from the hierarchy below the
 * top level (so a subtree holding 1% of the concepts holds about 1% of the Observations), as
 * NDJSON files of 50,000 lines under `dir` (kept and reused when complete: deterministic).
 */
export async function writeObservationFiles(dir: string, h: GeneratedHierarchy, count: number, seed: number): Promise<string> {
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const random = prng(seed ^ 0x0b5);
  const coded = codedConcepts(h);
  for (let file = 0; file * LINES_PER_FILE < count; file++) {
    const stream = createWriteStream(join(dir, `observations-${String(file).padStart(4, '0')}.ndjson`));
    const lines = Math.min(LINES_PER_FILE, count - file * LINES_PER_FILE);
    let buffer: string[] = [];
    for (let i = 0; i < lines; i++) {
      const index = 20 + Math.floor(random() * coded);
      buffer.push(JSON.stringify(benchObservation(h, index, Math.floor(random() * PATIENTS), random)));
      if (buffer.length === 2000 || i === lines - 1) {
        if (!stream.write(`${buffer.join('\n')}\n`)) await once(stream, 'drain');
        buffer = [];
      }
    }
    stream.end();
    await once(stream, 'finish');
  }
  writeFileSync(join(dir, '.complete'), new Date().toISOString());
  return dir;
}

const CLINICAL = ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved'];
const VERIFICATION = ['unconfirmed', 'provisional', 'differential', 'confirmed'];

/**
 * A Condition whose clinicalStatus and verificationStatus (required bindings to
 * condition-clinical and condition-ver-status, R4 content preloaded) are checked on write, coded
 * with a concept of the hierarchy (Condition.code's binding is an example: not checked).
 */
export function benchCondition(h: GeneratedHierarchy, random: () => number): string {
  const index = 20 + Math.floor(random() * codedConcepts(h));
  return JSON.stringify({
    resourceType: 'Condition',
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: CLINICAL[Math.floor(random() * CLINICAL.length)] }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: VERIFICATION[Math.floor(random() * VERIFICATION.length)] }] },
    code: { coding: [{ system: SCT_URL, code: h.codes[index], display: h.displays[index] }] },
    subject: { reference: `Patient/bench-${Math.floor(random() * PATIENTS)}` },
    recordedDate: '2024-03-01',
  });
}

/** An Observation body for the write benchmark (no Coding element with a required binding). */
export function benchObservationBody(h: GeneratedHierarchy, random: () => number): string {
  const index = 20 + Math.floor(random() * codedConcepts(h));
  return JSON.stringify(benchObservation(h, index, Math.floor(random() * PATIENTS), random));
}
