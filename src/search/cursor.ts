// Keyset paging cursors (search.html#paging): the sort-key values and id of a page's last row
// (for next) or first row (for previous), so paging stays exact however many rows others insert.
import { badRequest } from '../core/errors.js';

export type CursorValue = string | number | null;

/** Which side of the cursor row a page lies on: after it (next) or before it (previous). */
export type CursorDirection = 'after' | 'before';

export interface Cursor {
  direction: CursorDirection;
  values: CursorValue[];
}

export function encodeCursor(direction: CursorDirection, values: CursorValue[]): string {
  return Buffer.from(JSON.stringify([direction === 'after' ? '>' : '<', ...values])).toString('base64url');
}

export function decodeCursor(token: string, expectedLength: number): Cursor {
  try {
    const [marker, ...values] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if ((marker === '>' || marker === '<') && values.length === expectedLength && values.every((v) => v === null || typeof v === 'string' || typeof v === 'number')) {
      return { direction: marker === '>' ? 'after' : 'before', values: values as CursorValue[] };
    }
  } catch {
    // fall through
  }
  throw badRequest('_page is not a valid paging cursor for this search (use the links the server returned)', ['_page']);
}
