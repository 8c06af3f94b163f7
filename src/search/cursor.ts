// Keyset paging cursors (search.html#paging): the sort-key values and id of a page's last row
// (for next) or first row (for previous), so paging stays exact however many rows others insert.
// History pages (http.html#history) have their own: the last entry's time, type, id and version.
// A cursor comes back from the client, so every value is checked to fit its column (400, never
// a database error) before it reaches SQL.
import { badRequest } from '../core/errors.js';
import { isValidId } from '../core/ids.js';
import { isResourceType } from '../core/resource-types.js';
import type { HistoryCursor } from '../storage/resource-store.js';

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

export function encodeHistoryCursor(v: HistoryCursor): string {
  return Buffer.from(JSON.stringify([v.lastUpdated.toISOString(), v.resourceType, v.id, v.versionId])).toString('base64url');
}

/** The instants this server writes: years 1 to 9999, as PostgreSQL timestamptz and ISO text agree. */
const ISO_INSTANT = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** version_id is a PostgreSQL integer. */
const MAX_VERSION = 2 ** 31 - 1;

export function decodeHistoryCursor(token: string): HistoryCursor {
  try {
    const [time, resourceType, id, versionId, ...extra] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    const lastUpdated = typeof time === 'string' && ISO_INSTANT.test(time) ? new Date(time) : undefined;
    if (
      extra.length === 0 &&
      lastUpdated !== undefined &&
      !Number.isNaN(lastUpdated.getTime()) &&
      typeof resourceType === 'string' &&
      isResourceType(resourceType) &&
      typeof id === 'string' &&
      isValidId(id) &&
      Number.isInteger(versionId) &&
      (versionId as number) >= 1 &&
      (versionId as number) <= MAX_VERSION
    ) {
      return { lastUpdated, resourceType, id, versionId: versionId as number };
    }
  } catch {
    // fall through
  }
  throw badRequest('_page is not a valid paging cursor (use the links the server returned)', ['_page']);
}
