// history at instance, type and system level (FHIR R4 http.html#history): a Bundle of type
// history, newest first, paged by a keyset cursor (_page) so pages stay correct while
// clients keep writing. Entries splice the stored JSON text without re-serializing.
// Under a data constraint (SMART scopes, access/read-constraint.ts) the store returns only
// versions of resources whose current row is in reach, and each version's own content is
// checked too (a version from before the resource moved into reach is left out); the cursor
// still follows the rows read, so paging stays exact (a page may then hold fewer entries).
import type { HistoryQuery, ResourceStore, StoredVersion } from '../../storage/resource-store.js';
import { decodeHistoryCursor, encodeHistoryCursor } from '../../search/cursor.js';
import { badRequest, notFound } from '../../core/errors.js';
import { parseDateRange } from '../../core/date-range.js';
import type { InteractionName } from '../hooks.js';
import type { FhirRequest, FhirResponse } from '../../core/types.js';
import { etag } from '../versioning.js';
import { shapeResource, type Interaction, type InteractionDeps } from './context.js';
import { requestAccess } from '../access/read-constraint.js';
import { bodyText } from '../../core/response-body.js';

const ALLOWED = new Set(['_since', '_at', '_count', '_page', '_format', '_pretty', '_summary', '_elements']);

export function historyInteraction(req: FhirRequest, deps: InteractionDeps, type?: string, id?: string): Interaction {
  const interaction: InteractionName = id ? 'history-instance' : type ? 'history-type' : 'history-system';
  return {
    target: { interaction, resourceType: type, id },
    readOnly: true,
    async run(store: ResourceStore) {
      const query = parseHistoryQuery(req, deps, type, id);
      // Instance history is a read ('r'); type and system history search ('s').
      const letters = id ? (['r'] as const) : (['s'] as const);
      const access = await requestAccess(store, req.access);
      const reach = access.reach(letters);
      const rows = await store.history({ ...query, reach });
      if (id && rows.length === 0 && !query.after && !query.since && !query.at) {
        if (!(await store.readCurrent(type as string, id, { reach }))) throw notFound(`${type}/${id} is not known`);
      }
      const read = rows.slice(0, query.count);
      const next = rows.length > query.count && read.length > 0 ? read[read.length - 1] : undefined;
      const page = reach ? read.filter((v) => v.content === null || access.versionInReach(v.resourceType, v.id, v.content, letters)) : read;
      return { status: 200, headers: {}, body: { kind: 'raw', text: historyBundle(req, page, next) } };
    },
  };
}

function parseHistoryQuery(req: FhirRequest, deps: InteractionDeps, type?: string, id?: string): HistoryQuery {
  for (const name of req.query.keys()) {
    if (!ALLOWED.has(name)) throw badRequest(`Unknown parameter '${name}' for history`, [name]);
  }
  const q: HistoryQuery = { resourceType: type, id, count: parseCount(req, deps) };
  const since = req.query.get('_since');
  if (since) q.since = parseDateRange(since, '_since').start;
  const at = req.query.get('_at');
  if (at) q.at = parseDateRange(at, '_at');
  const page = req.query.get('_page');
  if (page) q.after = decodeHistoryCursor(page);
  return q;
}

function parseCount(req: FhirRequest, deps: InteractionDeps): number {
  const raw = req.query.get('_count');
  if (raw === null) return deps.config.defaultPageSize;
  if (!/^\d{1,6}$/.test(raw)) throw badRequest(`_count '${raw}' is not a non-negative integer`, ['_count']);
  return Math.min(Number(raw), deps.config.maxPageSize);
}

function historyBundle(req: FhirRequest, page: StoredVersion[], next?: StoredVersion): string {
  const selfUrl = pageUrl(req, req.query);
  const links = [{ relation: 'self', url: selfUrl }];
  if (next) {
    const params = new URLSearchParams(req.query);
    params.set('_page', encodeHistoryCursor(next));
    links.push({ relation: 'next', url: pageUrl(req, params) });
  }
  const head = JSON.stringify({ resourceType: 'Bundle', type: 'history', link: links });
  if (page.length === 0) return head;
  const entries = page.map((v) => historyEntry(req, v));
  return `${head.slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

function historyEntry(req: FhirRequest, v: StoredVersion): string {
  const url = `${v.resourceType}/${v.id}`;
  const method = v.method ?? (v.deleted ? 'DELETE' : 'PUT');
  const meta = JSON.stringify({
    fullUrl: `${req.baseUrl}/${url}`,
    // How this version was made (Bundle.entry.request in history): recorded at write time.
    request: { method, url: method === 'POST' ? v.resourceType : url },
    response: {
      status: String(v.status ?? 200),
      etag: etag(v.versionId),
      lastModified: v.lastUpdated.toISOString(),
    },
  });
  if (v.content === null) return meta;
  const body = shapeResource(req, v.content);
  const text = body ? bodyText(body) : 'undefined';
  return `${meta.slice(0, -1)},"resource":${text}}`;
}

function pageUrl(req: FhirRequest, params: URLSearchParams): string {
  const path = [req.baseUrl, ...req.path].join('/');
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}
