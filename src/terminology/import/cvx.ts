// CDC vaccines administered (CVX) as http://hl7.org/fhir/sid/cvx (terminologies-systems.html),
// from CDC's pipe-delimited table cvx.txt: CVX Code | CVX Short Description | Full Vaccine Name |
// Notes | VaccineStatus | internalID | nonvaccine | update_date. Codes are padded with spaces in the
// file; they are trimmed. Status Inactive, Non-US and Never Active make a concept inactive. CVX
// has no hierarchy. The version is the newest update_date (YYYY-MM-DD) unless --version is given.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CodeSystemHeader, ConceptInput, ConceptProperty, PropertyDef } from '../../storage/terminology-store.js';
import { ImportError } from './errors.js';
import { filesUnder, pick, required } from './files.js';
import { readLines } from './lines.js';
import type { CodeSystemSource } from './source.js';

export const CVX_URL = 'http://hl7.org/fhir/sid/cvx';

const COLUMNS = 8;
const INACTIVE = new Set(['inactive', 'non-us', 'never active']);

const PROPERTY_DEFS: PropertyDef[] = [
  { code: 'status', type: 'string', description: 'CDC VaccineStatus (Active, Inactive, Non-US, Pending, Never Active)' },
  { code: 'nonvaccine', type: 'boolean', description: 'Not a vaccine (e.g. an immune globulin)' },
  { code: 'updated', type: 'dateTime', description: 'When CDC last updated the code' },
  { code: 'notes', type: 'string' },
];

const USE_FULL = { system: CVX_URL, code: 'full-name', display: 'Full Vaccine Name' };

/** CDC writes update_date as M/D/YYYY (older files YYYY/MM/DD): both to YYYY-MM-DD. */
export function isoDate(value: string): string | undefined {
  const mdy = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (mdy) return `${mdy[3]}-${mdy[1].padStart(2, '0')}-${mdy[2].padStart(2, '0')}`;
  const ymd = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value);
  if (ymd) return `${ymd[1]}-${ymd[2].padStart(2, '0')}-${ymd[3].padStart(2, '0')}`;
  return undefined;
}

interface Parsed {
  concepts: ConceptInput[];
  newest: string;
}

/** The whole table (a few hundred lines), parsed once: the version is its newest update. */
async function parse(file: string): Promise<Parsed> {
  const concepts: ConceptInput[] = [];
  const seen = new Set<string>();
  let newest = '';
  for await (const { number, text } of readLines(file)) {
    if (text.trim() === '') continue;
    const fields = text.split('|').map((f) => f.trim());
    if (number === 1 && /^cvx code$/i.test(fields[0])) continue; // a header line, when the file has one
    if (fields.length !== COLUMNS) throw new ImportError(file, number, `expected ${COLUMNS} pipe-separated fields, found ${fields.length}`);
    const [code, short, full, notes, status, , nonvaccine, updated] = fields;
    if (!/^\d{1,3}$/.test(code)) throw new ImportError(file, number, `CVX Code '${code}' is not a number`);
    if (seen.has(code)) throw new ImportError(file, number, `the code ${code} is listed twice`);
    seen.add(code);
    const date = updated ? isoDate(updated) : undefined;
    if (updated && !date) throw new ImportError(file, number, `update_date '${updated}' is not a date`);
    if (date && date > newest) newest = date;
    const properties: ConceptProperty[] = [
      ...(status ? [{ code: 'status', type: 'string' as const, value: status }] : []),
      { code: 'nonvaccine', type: 'boolean', value: /^true$/i.test(nonvaccine) },
      ...(date ? [{ code: 'updated', type: 'dateTime' as const, value: date }] : []),
      ...(notes ? [{ code: 'notes', type: 'string' as const, value: notes }] : []),
    ];
    concepts.push({
      code,
      display: short || full,
      active: !INACTIVE.has(status.toLowerCase()),
      ...(full && full !== short ? { designations: [{ language: 'en', use: USE_FULL, value: full }] } : {}),
      properties,
    });
  }
  return { concepts, newest };
}

export async function cvxSource(paths: readonly string[]): Promise<CodeSystemSource> {
  const files = await filesUnder(paths);
  const file = required(pick(files, /^(web_)?cvx.*\.txt$/i, 'cvx.txt'), 'cvx.txt', paths);
  let parsed: Parsed | undefined;
  return {
    format: 'cvx',
    files: [file],
    async header(): Promise<CodeSystemHeader> {
      parsed ??= await parse(file);
      if (!parsed.newest) throw new Error(`${basename(file)}: no update_date to take a version from; give --version`);
      const version = parsed.newest;
      const resource = {
        resourceType: 'CodeSystem',
        url: CVX_URL,
        version,
        name: 'CVX',
        title: 'CDC Vaccines Administered (CVX)',
        status: 'active',
        publisher: 'Centers for Disease Control and Prevention (CDC)',
        caseSensitive: true,
        content: 'complete',
        property: PROPERTY_DEFS,
      };
      return { url: CVX_URL, version, name: 'CVX', title: resource.title, status: 'active', content: 'complete', caseSensitive: true, source: 'cvx', propertyDefs: PROPERTY_DEFS, resource };
    },
    async emit(sink, progress) {
      progress.file = basename(file);
      parsed ??= await parse(file);
      progress.bytesDone += (await stat(file)).size;
      for (const concept of parsed.concepts) await sink.concept(concept);
    },
  };
}
