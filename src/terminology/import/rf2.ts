// SNOMED CT RF2 release files (SNOMED CT Release File Specification, "Release Format 2"): tab-
// separated, a header line, one component per line; a Snapshot holds each component's latest row.
import { basename } from 'node:path';
import { ImportError } from './errors.js';
import { readLines, type ByteCounter } from './lines.js';

export interface Rf2Row {
  line: number;
  /** Field values by column name. */
  get(column: string): string;
}

/** The rows of an RF2 file, checked against the header's columns (all of `required` must be there). */
export async function* rf2Rows(path: string, required: readonly string[], counter?: ByteCounter): AsyncGenerator<Rf2Row> {
  let columns: Map<string, number> | undefined;
  for await (const { number, text } of readLines(path, counter)) {
    if (text === '') continue;
    const fields = text.split('\t');
    if (!columns) {
      columns = new Map(fields.map((name, i) => [name.trim(), i]));
      const missing = required.filter((name) => !columns!.has(name));
      if (missing.length > 0) throw new ImportError(path, number, `not an RF2 file of this kind: the header lacks ${missing.join(', ')}`);
      continue;
    }
    if (fields.length !== columns.size) throw new ImportError(path, number, `expected ${columns.size} tab-separated columns, found ${fields.length}`);
    const active = fields[columns.get('active') ?? -1];
    if (active !== undefined && active !== '0' && active !== '1') throw new ImportError(path, number, `active is '${active}', not 0 or 1`);
    const at = columns;
    yield { line: number, get: (column) => fields[at.get(column)!] };
  }
}

/** The effective time (YYYYMMDD) an RF2 file name ends with, e.g. sct2_Concept_Snapshot_INT_20230131.txt. */
export function effectiveTimeOf(path: string): string | undefined {
  return /_(\d{8})\.txt$/.exec(basename(path))?.[1];
}

/** SNOMED CT identifiers are 6 to 18 digits (SCTID, the check digit is not verified here). */
export const isSctId = (value: string) => /^\d{6,18}$/.test(value);
