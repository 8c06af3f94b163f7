// ICD-10-CM (CMS/NCHS) from the "order file" icd10cm_order_<year>.txt as
// http://hl7.org/fhir/sid/icd-10-cm (terminologies-systems.html). The order file is fixed width
// (CMS's "ICD-10-CM and ICD-10-PCS Order File" description): columns 1-5 the order number, 7-13
// the code without its dot, 15 `1` when the code is valid for submission (billable) and `0` for a
// header, 17-76 the short description, 78 on the long description. FHIR writes codes with the dot
// after the third character (E11.9).
//
// Hierarchy: a code is-a the longest shorter code that is a prefix of it (E11.9 under E11,
// S72.001A under S72.001). Categories (three characters) have no parent: the chapters and blocks
// (E08-E13) are in the tabular XML, not the order file.
import { basename } from 'node:path';
import type { CodeSystemHeader, PropertyDef } from '../../storage/terminology-store.js';
import { ImportError } from './errors.js';
import { filesUnder, pick, required } from './files.js';
import { readLines } from './lines.js';
import type { CodeSystemSource } from './source.js';

export const ICD10CM_URL = 'http://hl7.org/fhir/sid/icd-10-cm';

const PROPERTY_DEFS: PropertyDef[] = [
  { code: 'billable', type: 'boolean', description: 'Valid for submission on a claim (order file column 15 is 1)' },
  { code: 'notSelectable', type: 'boolean', uri: 'http://hl7.org/fhir/concept-properties#notSelectable', description: 'A header: not valid for submission' },
];

const USE_SHORT = { system: 'http://terminology.hl7.org/CodeSystem/designation-usage', code: 'short', display: 'Short description' };

/** E119 -> E11.9; codes of three characters have no dot. */
export const dotted = (code: string) => (code.length > 3 ? `${code.slice(0, 3)}.${code.slice(3)}` : code);

export interface OrderLine {
  code: string;
  billable: boolean;
  short: string;
  long: string;
}

/** One order-file line, or throws naming what is wrong. */
export function parseOrderLine(text: string): OrderLine {
  if (text.length < 17) throw new Error(`expected the fixed-width order layout (at least 17 characters), found ${text.length}`);
  if (!/^\d{5}$/.test(text.slice(0, 5))) throw new Error(`columns 1-5 should be the order number, found '${text.slice(0, 5)}'`);
  const code = text.slice(6, 13).trim();
  if (!/^[A-Z][0-9][0-9A-Z]{1,5}$/.test(code)) throw new Error(`columns 7-13 should be an ICD-10-CM code, found '${text.slice(6, 13)}'`);
  const flag = text[14];
  if (flag !== '0' && flag !== '1') throw new Error(`column 15 should be 0 (header) or 1 (billable), found '${flag}'`);
  const short = text.slice(16, 76).trim();
  const long = text.slice(77).trim() || short;
  return { code, billable: flag === '1', short, long };
}

export async function icd10cmSource(paths: readonly string[]): Promise<CodeSystemSource> {
  const files = await filesUnder(paths);
  const file = required(pick(files, /^icd10cm[_-]order[_-].*\.txt$/i, 'icd10cm_order'), 'icd10cm_order_<year>.txt file', paths);
  return {
    format: 'icd10cm',
    files: [file],
    async header(): Promise<CodeSystemHeader> {
      const year = /order[_-](\d{4})/i.exec(basename(file))?.[1];
      if (!year) throw new Error(`${basename(file)}: no year in the file name; give --version`);
      const resource = {
        resourceType: 'CodeSystem',
        url: ICD10CM_URL,
        version: year,
        name: 'ICD10CM',
        title: 'International Classification of Diseases, 10th Revision, Clinical Modification (ICD-10-CM)',
        status: 'active',
        publisher: 'National Center for Health Statistics (NCHS)',
        caseSensitive: true,
        hierarchyMeaning: 'is-a',
        content: 'complete',
        property: PROPERTY_DEFS,
      };
      return { url: ICD10CM_URL, version: year, name: 'ICD10CM', title: resource.title, status: 'active', content: 'complete', caseSensitive: true, hierarchyMeaning: 'is-a', source: 'icd10cm', propertyDefs: PROPERTY_DEFS, resource };
    },
    async emit(sink, progress) {
      progress.file = basename(file);
      // The order file lists a header before the codes under it, so a code's parent is known when it comes.
      const seen = new Set<string>();
      for await (const { number, text } of readLines(file, progress)) {
        if (text.trim() === '') continue;
        let line: OrderLine;
        try {
          line = parseOrderLine(text);
        } catch (error) {
          throw new ImportError(file, number, (error as Error).message);
        }
        if (seen.has(line.code)) throw new ImportError(file, number, `the code ${dotted(line.code)} is listed twice`);
        seen.add(line.code);
        await sink.concept({
          code: dotted(line.code),
          display: line.long,
          ...(line.short && line.short !== line.long ? { designations: [{ language: 'en', use: USE_SHORT, value: line.short }] } : {}),
          properties: [{ code: 'billable', type: 'boolean', value: line.billable }, ...(line.billable ? [] : [{ code: 'notSelectable', type: 'boolean' as const, value: true }])],
        });
        for (let n = line.code.length - 1; n >= 3; n--) {
          const prefix = line.code.slice(0, n);
          if (!seen.has(prefix)) continue;
          await sink.edge({ child: dotted(line.code), parent: dotted(prefix) });
          break;
        }
      }
    },
  };
}
