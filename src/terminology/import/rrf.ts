// UMLS Rich Release Format files (RxNorm Technical Documentation, "RXNCONSO.RRF", "RXNREL.RRF"):
// pipe-separated fields, each line ending in a pipe, no header and no quoting.
import { ImportError } from './errors.js';
import { readLines, type ByteCounter } from './lines.js';

/** The rows of an RRF file with `columns` fields each (the trailing pipe is not a field). */
export async function* rrfRows(path: string, columns: number, counter?: ByteCounter): AsyncGenerator<{ line: number; fields: string[] }> {
  for await (const { number, text } of readLines(path, counter)) {
    if (text === '') continue;
    const fields = text.split('|');
    if (fields.length === columns + 1 && fields[columns] === '') fields.pop();
    if (fields.length !== columns) throw new ImportError(path, number, `expected ${columns} pipe-separated fields, found ${fields.length}`);
    yield { line: number, fields };
  }
}
