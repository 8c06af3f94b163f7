// CSV as RFC 4180 defines it (the LOINC table files are written so): fields separated by commas,
// a field in double quotes may hold commas, line breaks and doubled quotes (""). A record may span
// lines while a quote is open; it is numbered by the line it starts on.
import { ImportError } from './errors.js';
import { readLines, type ByteCounter } from './lines.js';

export interface CsvRecord {
  /** The line the record starts on (1-based). */
  line: number;
  fields: string[];
}

/**
 * Parses one record's text. Returns undefined when a quoted field is still open at the end (the
 * record continues on the next line); throws on text after a closing quote.
 */
export function parseCsvRecord(text: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const quote = text.indexOf('"', j);
        if (quote === -1) return undefined;
        value += text.slice(j, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          j = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      fields.push(value);
      if (i < text.length && text[i] !== ',') throw new Error(`unexpected text after a closing quote at column ${i + 1}`);
    } else {
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) throw new Error(`a quote inside an unquoted field at column ${i + 1}`);
      fields.push(value);
      i = end;
    }
    if (i >= text.length) return fields;
    i++; // the comma
    if (i === text.length) {
      fields.push('');
      return fields;
    }
  }
}

/** The records of a CSV file, streamed; blank lines are skipped. */
export async function* csvRecords(path: string, counter?: ByteCounter): AsyncGenerator<CsvRecord> {
  let pending: string | undefined;
  let start = 0;
  for await (const { number, text } of readLines(path, counter)) {
    const record = pending === undefined ? text : `${pending}\n${text}`;
    if (pending === undefined) {
      start = number;
      if (text === '') continue;
    }
    let fields: string[] | undefined;
    try {
      fields = parseCsvRecord(record);
    } catch (error) {
      throw new ImportError(path, start, (error as Error).message);
    }
    if (fields === undefined) {
      pending = record;
      continue;
    }
    pending = undefined;
    yield { line: start, fields };
  }
  if (pending !== undefined) throw new ImportError(path, start, 'a quoted field is not closed before the end of the file');
}

/** Maps column names of a header record to their positions; throws naming the missing ones. */
export function columnsOf(path: string, header: CsvRecord | undefined, required: readonly string[]): Map<string, number> {
  if (!header) throw new ImportError(path, 1, 'the file is empty (expected a header line)');
  const columns = new Map(header.fields.map((name, i) => [name.trim(), i]));
  const missing = required.filter((name) => !columns.has(name));
  if (missing.length > 0) throw new ImportError(path, header.line, `the header lacks the column(s) ${missing.join(', ')}`);
  return columns;
}
