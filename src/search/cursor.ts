// Keyset paging cursors (search.html#paging): the sort-key values and id of the last row of a
// page, so the next page continues strictly after it however many rows others insert.
import { badRequest } from '../fhir/errors.js';

export type CursorValue = string | number | null;

export function encodeCursor(values: CursorValue[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(token: string, expectedLength: number): CursorValue[] {
  try {
    const values = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(values) && values.length === expectedLength && values.every((v) => v === null || typeof v === 'string' || typeof v === 'number')) {
      return values as CursorValue[];
    }
  } catch {
    // fall through
  }
  throw badRequest('_page is not a valid paging cursor for this search (use the links the server returned)', ['_page']);
}
