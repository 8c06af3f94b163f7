// hearth load (docs/loading.md): a failure that names where it happened, so an operator can
// open the file and find the entry (Bundle.entry index) or line (NDJSON) at fault.
import { FhirError } from '../core/errors.js';

export interface FailurePlace {
  /** The source file's name (relative to the argument it came from). */
  file?: string;
  /** Index in the file's Bundle.entry (JSON bundles). */
  entry?: number;
  /** 1-based line (NDJSON). */
  line?: number;
  /** The entry's resource type, when known. */
  resourceType?: string;
}

export class LoadError extends Error {
  override name = 'LoadError';

  constructor(
    readonly reason: string,
    readonly place: FailurePlace = {},
  ) {
    super(describePlace(place, reason));
  }

  /** The same failure, placed in `file`. */
  inFile(file: string): LoadError {
    return new LoadError(this.reason, { ...this.place, file });
  }
}

/** `file line 7 (Observation): reason`, `file entry 12 (Patient): reason`, or just the reason. */
export function describePlace(place: FailurePlace, reason: string): string {
  const where: string[] = [];
  if (place.file) where.push(place.file);
  if (place.line !== undefined) where.push(`line ${place.line}`);
  else if (place.entry !== undefined) where.push(`entry ${place.entry}`);
  if (where.length === 0) return reason;
  const type = place.resourceType && (place.line !== undefined || place.entry !== undefined) ? ` (${place.resourceType})` : '';
  return `${where.join(' ')}${type}: ${reason}`;
}

/** The text of an error for a person: a FhirError's diagnostics, else its message. */
export function reasonOf(error: unknown): string {
  if (error instanceof LoadError) return error.reason;
  if (error instanceof FhirError) {
    const texts = error.outcome.issue.map((i) => i.diagnostics ?? i.code);
    return `${error.status}: ${texts.join('; ')}`;
  }
  return error instanceof Error ? error.message : String(error);
}

const ENTRY = /Bundle\.entry\[(\d+)\]/;

/** The Bundle.entry index a FhirError (or a batch entry's outcome) names, if any. */
export function entryIndexOf(error: unknown): number | undefined {
  if (!(error instanceof FhirError)) return undefined;
  for (const issue of error.outcome.issue) {
    for (const text of [...(issue.expression ?? []), issue.diagnostics ?? '']) {
      const m = ENTRY.exec(text);
      if (m) return Number(m[1]);
    }
  }
  return undefined;
}

export interface EntryNaming {
  /** The entry's resource type. */
  typeOf(index: number): string | undefined;
  /** How the file names an entry: `entry 12` in a Bundle file, `line 345` in NDJSON. */
  label(index: number): string;
}

const ENTRY_RESOURCE = /Bundle\.entry\[(\d+)\]\.resource/g;
const ENTRY_ANY = /Bundle\.entry\[(\d+)\]/g;

/**
 * An OperationOutcome about a loaded Bundle in the file's terms: `Patient.gender: Value 'robot'
 * is not ...` rather than `Bundle.entry[12]: ...`, since the failure is already placed at the
 * entry or line, and the Bundle of an NDJSON chunk is the loader's own. The status shows when it
 * is not a plain 400.
 */
export function outcomeText(error: FhirError, entry: number | undefined, naming: EntryNaming): string {
  const inFileTerms = (text: string) =>
    text
      .replace(ENTRY_RESOURCE, (_m, i: string) => naming.typeOf(Number(i)) ?? 'resource')
      .replace(ENTRY_ANY, (_m, i: string) => naming.label(Number(i)));
  const texts = error.outcome.issue.map((issue) => {
    let text = issue.diagnostics ?? issue.code;
    if (entry !== undefined) text = text.replace(new RegExp(`^Bundle\\.entry\\[${entry}\\](\\.request)?: `), '');
    text = inFileTerms(text);
    // The most specific element path, when the diagnostics do not already say it.
    // (A batch entry's own outcome has plain resource paths such as `Patient.gender`.)
    const element = [...(issue.expression ?? [])].reverse().find((e) => /^(Bundle\.entry\[\d+\]\.resource|[A-Z][A-Za-z]*)\./.test(e));
    const path = element && inFileTerms(element);
    return path && !text.includes(path) ? `${path}: ${text}` : text;
  });
  return `${error.status === 400 ? '' : `${error.status}: `}${texts.join('; ')}`;
}
