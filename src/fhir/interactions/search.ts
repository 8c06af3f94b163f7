// search-type and search-system (FHIR R4 http.html#search, search.html): a Bundle of type
// searchset, assembled from stored JSON text, paged by keyset cursors (self, next and previous links).
// The caller's access (SMART scopes) is checked on the parsed query (every type it reaches:
// access/read-constraint-check.ts) and then travels into every statement as its data constraint.
import type { OperationOutcomeIssue } from 'fhir/r4.js';
import type { SearchPage } from '../../search/engine.js';
import { compartmentFilter } from '../../search/parse-query.js';
import type { SearchQuery } from '../../search/query.js';
import { parseTypeParam } from '../../search/system.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { forbidden } from '../../core/errors.js';
import type { FhirRequest, FhirResponse } from '../../core/types.js';
import { applyElements, applySummary } from '../../core/summary.js';
import type { JsonObject } from '../../core/types.js';
import type { Interaction, InteractionDeps } from './context.js';
import { requestAccess } from '../access/read-constraint.js';
import { checkSearchReach } from '../access/read-constraint-check.js';

export interface CompartmentScope {
  type: string;
  id: string;
}

export function searchInteraction(
  req: FhirRequest,
  deps: InteractionDeps,
  type: string,
  params: URLSearchParams,
  compartment?: CompartmentScope,
): Interaction {
  return {
    target: { interaction: 'search-type', resourceType: type },
    readOnly: true,
    async run(store: ResourceStore) {
      const { searching } = await deps.searchParams.load(store);
      const query = deps.search.parse(type, params, req.prefer.handling === 'lenient', searching);
      if (compartment) query.filters.push(compartmentFilter(searching, compartment.type, compartment.id, type));
      if (query.explain && !req.access.isAdmin) throw forbidden('_explain is reserved for administrators');
      const { scope } = await requestAccess(store, req.access);
      checkSearchReach(req.access, scope, query, searching);
      if (query.explain) {
        return explainResponse(await deps.search.explain(store, query, scope));
      }
      const page = await deps.search.run(store, query, searching, scope);
      return { status: 200, headers: {}, body: { kind: 'raw', text: searchsetBundle(req, type, params, query, page) } };
    },
  };
}

/**
 * search-system (http.html#search, search.html#all): `GET [base]?_type=...`, `POST [base]/_search`.
 * _type is checked before anything runs, so authorization sees the types (absent = all).
 */
export function systemSearchInteraction(req: FhirRequest, deps: InteractionDeps, params: URLSearchParams): Interaction {
  const types = parseTypeParam(params);
  return {
    target: { interaction: 'search-system', resourceTypes: types },
    readOnly: true,
    async run(store: ResourceStore) {
      const { searching } = await deps.searchParams.load(store);
      if (params.get('_explain') === 'true' && !req.access.isAdmin) throw forbidden('_explain is reserved for administrators');
      const { scope } = await requestAccess(store, req.access);
      const searched = types ?? (await deps.search.typesWithRows(store, scope));
      const query = deps.search.parseSystem(searched, types !== undefined, params, req.prefer.handling === 'lenient', searching);
      for (const branch of query.branches) checkSearchReach(req.access, scope, branch, searching);
      if (query.result.explain) {
        if (query.branches.length === 0) return explainResponse({ sql: '(none: no resource type to search)', values: [], plan: '' });
        return explainResponse(await deps.search.explainSystem(store, query, searching));
      }
      const page = await deps.search.runSystem(store, query, searching, scope);
      return { status: 200, headers: {}, body: { kind: 'raw', text: searchsetBundle(req, undefined, params, query.result, page) } };
    },
  };
}

/** `type` undefined: a system search, whose links go to the base. */
function searchsetBundle(req: FhirRequest, type: string | undefined, params: URLSearchParams, query: SearchQuery, page: SearchPage): string {
  // Links carry the parameters actually used: lenient handling leaves out what it ignored (search.html#errors).
  const used = new URLSearchParams([...params].filter(([name]) => !query.ignored.includes(name)));
  const selfParams = used;
  const links = [{ relation: 'self', url: link(req, type, selfParams) }];
  if (page.next) {
    const nextParams = new URLSearchParams(used);
    nextParams.set('_page', page.next);
    links.push({ relation: 'next', url: link(req, type, nextParams) });
  }
  if (page.previous) {
    const previousParams = new URLSearchParams(used);
    previousParams.set('_page', page.previous);
    links.push({ relation: 'previous', url: link(req, type, previousParams) });
  }
  const head: JsonObject = { resourceType: 'Bundle', type: 'searchset' };
  if (page.total !== undefined) head.total = page.total;
  head.link = links;
  const entries = query.summary === 'count' ? [] : page.matches.map((m) => matchEntry(req, query, m.resourceType, m.id, m.content as string));
  // _include/_revinclude (search.html#include): after the matches, not counted in total.
  for (const r of page.included ?? []) entries.push(matchEntry(req, query, r.resourceType, r.id, r.content as string, 'include'));
  const warnings = [...query.warnings, ...(page.warnings ?? [])];
  if (warnings.length > 0) entries.push(outcomeEntry(warnings));
  const text = JSON.stringify(head);
  return entries.length === 0 ? text : `${text.slice(0, -1)},"entry":[${entries.join(',')}]}`;
}

/** `_elements` names elements of the searched type, so it shapes matches only; `_summary` applies to included resources too. */
function matchEntry(req: FhirRequest, query: SearchQuery, type: string, id: string, content: string, mode: 'match' | 'include' = 'match'): string {
  let resource = content;
  const elements = mode === 'match' ? query.elements : undefined;
  if ((query.summary && query.summary !== 'false') || elements) {
    let value = JSON.parse(content) as JsonObject;
    if (query.summary && query.summary !== 'false' && query.summary !== 'count') value = applySummary(value, query.summary);
    if (elements) value = applyElements(value, elements);
    resource = JSON.stringify(value);
  }
  return `{"fullUrl":${JSON.stringify(`${req.baseUrl}/${type}/${id}`)},"resource":${resource},"search":{"mode":"${mode}"}}`;
}

/**
 * `_explain=true` (operators only): the SQL Hearth generated, its bind values and PostgreSQL's
 * EXPLAIN ANALYZE plan, as an OperationOutcome. Bind values can hold search values (PHI), so
 * this is refused to anyone but an administrator.
 */
function explainResponse(explained: { sql: string; values: unknown[]; plan: string }): FhirResponse {
  const issue = (diagnostics: string) => ({ severity: 'information', code: 'informational', diagnostics });
  const outcome = {
    resourceType: 'OperationOutcome',
    issue: [issue(`SQL: ${explained.sql}`), issue(`Bind values: ${JSON.stringify(explained.values)}`), issue(`Plan:\n${explained.plan}`)],
  };
  return { status: 200, headers: {}, body: { kind: 'json', value: outcome } };
}

/** Lenient handling reports what it ignored in an OperationOutcome entry (search.html#errors). */
function outcomeEntry(warnings: OperationOutcomeIssue[]): string {
  return JSON.stringify({ resource: { resourceType: 'OperationOutcome', issue: warnings }, search: { mode: 'outcome' } });
}

/** Links repeat the search as a GET: on the type, on the compartment path (Patient/1/Observation), or on the base. */
function link(req: FhirRequest, type: string | undefined, params: URLSearchParams): string {
  const query = params.toString();
  const path = type === undefined ? '' : `/${req.path.length === 3 ? req.path.join('/') : type}`;
  return `${req.baseUrl}${path}${query ? `?${query}` : ''}`;
}
