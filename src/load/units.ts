// hearth load (docs/loading.md): one source file as units of work, each a Bundle posted in one
// request. A .json file is parsed whole (a Bundle is one transaction anyway); NDJSON is streamed
// and cut into chunks of `chunkSize` lines, so only the chunks in flight are in memory. Bodies get
// the same safety checks (depth, forbidden keys, NUL) and decimal-lexeme capture as REST bodies.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { FhirError } from '../core/errors.js';
import { captureNumberLexemes } from '../fhir/json-numbers.js';
import { assertSafeJsonValue, parseJsonBody, type JsonLimits } from '../fhir/validation/safe-json.js';
import { asResource, fileToBundle, resourcesToBundle, type LoadBundle, type ParsedResource } from './convert.js';
import { LoadError } from './errors.js';
import { readLines, type Line } from './lines.js';
import type { SourceFile } from './sources.js';

export interface LoadUnit extends LoadBundle {
  /** 0-based position of the unit in its file. */
  index: number;
  /** NDJSON: the line of each entry, so a failing entry is reported by line. */
  lines?: number[];
  /** NDJSON: the last line the unit covers; a re-run resumes after it once it and all before it committed. */
  endLine?: number;
  /** The unit's share of the file's stored bytes (progress and ETA). */
  bytes: number;
}

export interface ReadOptions extends JsonLimits {
  /** NDJSON lines per transaction. */
  chunkSize: number;
  /** NDJSON lines already loaded by an earlier run (ledger); 0 for none. */
  skipLines: number;
}

const gunzipAsync = promisify(gunzip);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The file's units in order; throws LoadError (without the file name) for what cannot be read. */
export function readUnits(file: SourceFile, options: ReadOptions): AsyncGenerator<LoadUnit> {
  return file.format === 'ndjson' ? ndjsonUnits(file, options) : jsonUnits(file, options);
}

async function* jsonUnits(file: SourceFile, options: ReadOptions): AsyncGenerator<LoadUnit> {
  // Parsed in a function of its own so the text and bytes are garbage before the Bundle is posted.
  const bundle = await readJsonFile(file, options);
  if (bundle.entries > 0) yield { ...bundle, index: 0, bytes: file.size };
}

async function readJsonFile(file: SourceFile, limits: JsonLimits): Promise<LoadBundle> {
  let bytes = await readFile(file.path);
  if (file.gzip) bytes = await gunzipAsync(bytes).catch((error: Error) => Promise.reject(new LoadError(`not valid gzip: ${error.message}`)));
  let text: string;
  try {
    text = utf8.decode(bytes); // also drops a leading byte order mark
  } catch {
    throw new LoadError('not valid UTF-8');
  }
  const value = parseJson(text, limits, () => bytes);
  return fileToBundle(value, captureNumberLexemes(text));
}

async function* ndjsonUnits(file: SourceFile, options: ReadOptions): AsyncGenerator<LoadUnit> {
  const raw = createReadStream(file.path, { highWaterMark: 1 << 20 });
  const input = file.gzip ? raw.pipe(createGunzip()) : raw;
  if (input !== raw) raw.once('error', (error) => input.destroy(error));
  let chunk: ParsedResource[] = [];
  let lines: number[] = [];
  let index = 0;
  let accounted = 0;
  let lastLine = options.skipLines;
  const unit = (): LoadUnit => {
    const made: LoadUnit = { ...resourcesToBundle(chunk), index: index++, lines, endLine: lastLine, bytes: raw.bytesRead - accounted };
    accounted = raw.bytesRead;
    chunk = [];
    lines = [];
    return made;
  };
  try {
    for await (const line of readStream(readLines(input))) {
      if (line.number <= options.skipLines) continue;
      lastLine = line.number;
      if (!/\S/.test(line.text)) continue; // blank lines (a trailing newline, say) carry nothing
      chunk.push(parseLine(line, options));
      lines.push(line.number);
      if (chunk.length >= options.chunkSize) yield unit();
    }
    if (chunk.length > 0) yield unit();
  } finally {
    raw.destroy();
    input.destroy();
  }
}

/** Stream failures (a truncated gzip, say) as LoadErrors. */
async function* readStream(lines: AsyncGenerator<Line>): AsyncGenerator<Line> {
  try {
    yield* lines;
  } catch (error) {
    if (error instanceof LoadError) throw error;
    throw new LoadError(`cannot read: ${(error as Error).message}`);
  }
}

function parseLine(line: Line, limits: JsonLimits): ParsedResource {
  const place = { line: line.number };
  try {
    const value = parseJson(line.text, limits, () => Buffer.from(line.text));
    const resource = asResource(value, place);
    return { resource, numbers: captureNumberLexemes(line.text) };
  } catch (error) {
    if (!(error instanceof LoadError)) throw error;
    // The text is one line: a column is all the position that helps.
    const reason = error.reason.replace(/^Invalid JSON at line 1, column (\d+) \(position \d+\)/, 'Invalid JSON at column $1');
    throw new LoadError(reason, { ...error.place, ...place });
  }
}

/**
 * JSON.parse with the REST body checks. On a syntax error the REST parser is run on the bytes
 * for its message, which gives the position (line and column within the text).
 */
function parseJson(text: string, limits: JsonLimits, bytes: () => Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    try {
      parseJsonBody(bytes(), limits);
    } catch (error) {
      throw new LoadError(diagnostics(error));
    }
    throw new LoadError('invalid JSON');
  }
  try {
    assertSafeJsonValue(value, limits);
  } catch (error) {
    throw new LoadError(diagnostics(error));
  }
  return value;
}

function diagnostics(error: unknown): string {
  if (!(error instanceof FhirError)) return (error as Error).message;
  return error.outcome.issue.map((i) => `${i.diagnostics ?? i.code}${i.expression ? ` at ${i.expression.join(', ')}` : ''}`).join('; ');
}
