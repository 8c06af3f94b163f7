// Maps a transport-neutral FhirRequest onto an interaction (FHIR R4 http.html, the
// "Service Base URL" table). REST requests, batch entries and transaction entries all route
// through here; POST [base] itself is dispatched by FhirService before routing.
import { FhirError, badRequest, notFound, notSupported } from '../core/errors.js';
import { capabilitiesInteraction } from './interactions/capabilities.js';
import type { Interaction, InteractionDeps } from './interactions/context.js';
import { createInteraction } from './interactions/create.js';
import { conditionalDeleteInteraction, deleteInteraction } from './interactions/delete.js';
import { historyInteraction } from './interactions/history.js';
import { patchInteraction } from './interactions/patch.js';
import { readInteraction, vreadInteraction } from './interactions/read.js';
import { reindexInteraction, reindexStatusInteraction } from './interactions/reindex.js';
import { searchInteraction, systemSearchInteraction } from './interactions/search.js';
import { conditionalUpdateInteraction, updateInteraction } from './interactions/update.js';
import { isResourceType } from '../core/resource-types.js';
import type { FhirRequest, HttpMethod } from '../core/types.js';
import { assertValidId } from '../core/ids.js';

export interface RouterOptions {
  softwareVersion: string;
}

/** 405 with the Allow header RFC 9110 section 15.5.6 requires. */
function methodNotAllowed(method: HttpMethod, path: string, allowed: string): FhirError {
  const error = new FhirError(405, { code: 'not-supported', diagnostics: `${method} is not allowed on ${path || 'the base'}; allowed: ${allowed}` });
  error.headers.Allow = allowed;
  return error;
}

/** Conditional writes need criteria; a bare PUT/DELETE on a type is a client error. */
function hasCriteria(req: FhirRequest): boolean {
  return [...req.query.keys()].some((k) => !['_format', '_pretty'].includes(k));
}

export function route(req: FhirRequest, deps: InteractionDeps, options: RouterOptions): Interaction {
  const [first, second, third, fourth, ...rest] = req.path;
  const get = req.method === 'GET' || req.method === 'HEAD';
  if (first === undefined) {
    // GET [base]?params: system search (http.html#search); POST [base] is batch/transaction.
    if (get) return systemSearchInteraction(req, deps, req.query);
    // POST [base] (batch/transaction) is handled by FhirService before routing.
    throw methodNotAllowed(req.method, '', 'GET, POST');
  }
  if (first === '_search' && second === undefined) {
    if (req.method !== 'POST') throw methodNotAllowed(req.method, '_search', 'POST');
    return systemSearchInteraction(req, deps, searchFormParams(req));
  }
  if (first === 'metadata' && second === undefined) {
    if (!get) throw methodNotAllowed(req.method, 'metadata', 'GET');
    return capabilitiesInteraction(req, options.softwareVersion, deps);
  }
  const operation = reindexRoute(req);
  if (operation) return operation;
  if (first === '_history' && second === undefined) {
    if (!get) throw methodNotAllowed(req.method, '_history', 'GET');
    return historyInteraction(req, deps);
  }
  if (first.startsWith('$') || second?.startsWith('$') || third?.startsWith('$')) {
    throw notSupported(`Operation ${[first, second, third].find((s) => s?.startsWith('$'))} is not supported`, 501);
  }
  if (!isResourceType(first)) throw notFound(`Unknown resource type '${first}'`);
  const type = first;
  if (rest.length > 0) throw notFound(`No such path: ${req.path.join('/')}`);
  if (second === undefined) return typeLevel(req, deps, type);
  if (second === '_history' && third === undefined) {
    if (!get) throw methodNotAllowed(req.method, `${type}/_history`, 'GET');
    return historyInteraction(req, deps, type);
  }
  if (second === '_search' && third === undefined) {
    if (req.method !== 'POST') throw methodNotAllowed(req.method, `${type}/_search`, 'POST');
    return searchInteraction(req, deps, type, searchFormParams(req));
  }
  assertValidId(second, `${type}.id`);
  if (third === undefined) return instanceLevel(req, deps, type, second);
  if (third !== undefined && fourth === undefined && isResourceType(third)) {
    // Compartment search: GET /Patient/123/Observation (http.html#vsearch).
    if (!get) throw methodNotAllowed(req.method, `${type}/${second}/${third}`, 'GET');
    return searchInteraction(req, deps, third, req.query, { type, id: second });
  }
  if (third === '_history') {
    if (!get) throw methodNotAllowed(req.method, `${type}/${second}/_history`, 'GET');
    return fourth === undefined ? historyInteraction(req, deps, type, second) : vreadInteraction(req, type, second, fourth);
  }
  throw notFound(`No such path: ${req.path.join('/')}`);
}

/** $reindex at system, type and SearchParameter instance level, and its job status URL. */
function reindexRoute(req: FhirRequest): Interaction | undefined {
  const [first, second, third, fourth] = req.path;
  const post = (path: string, make: () => Interaction) => {
    if (req.method !== 'POST') throw methodNotAllowed(req.method, path, 'POST');
    return make();
  };
  if (first === '$reindex' && second === undefined) return post('$reindex', () => reindexInteraction(req, {}));
  if (first === '_reindex' && second !== undefined && third === undefined) {
    if (req.method !== 'GET' && req.method !== 'DELETE') throw methodNotAllowed(req.method, `_reindex/${second}`, 'GET, DELETE');
    assertValidId(second, 'job');
    return reindexStatusInteraction(req, second);
  }
  if (first !== undefined && isResourceType(first) && second === '$reindex' && third === undefined) {
    return post(`${first}/$reindex`, () => reindexInteraction(req, { type: first }));
  }
  if (first === 'SearchParameter' && second !== undefined && third === '$reindex' && fourth === undefined) {
    assertValidId(second, 'SearchParameter.id');
    return post(`SearchParameter/${second}/$reindex`, () => reindexInteraction(req, { searchParameterId: second }));
  }
  return undefined;
}

/** POST _search: parameters from the URL and the form body together (http.html#search). */
function searchFormParams(req: FhirRequest): URLSearchParams {
  const params = new URLSearchParams(req.query);
  if (req.body !== undefined) {
    if (req.bodyKind !== 'form') throw badRequest('POST _search takes an application/x-www-form-urlencoded body');
    for (const [k, v] of req.body as URLSearchParams) params.append(k, v);
  }
  return params;
}

function typeLevel(req: FhirRequest, deps: InteractionDeps, type: string): Interaction {
  switch (req.method) {
    case 'POST':
      return createInteraction(req, deps, type);
    case 'PUT':
      if (!hasCriteria(req)) throw badRequest(`PUT ${type} needs search criteria (conditional update) or an id in the URL`);
      return conditionalUpdateInteraction(req, deps, type);
    case 'DELETE':
      if (!hasCriteria(req)) throw badRequest(`DELETE ${type} needs search criteria (conditional delete) or an id in the URL`);
      return conditionalDeleteInteraction(req, deps, type);
    case 'GET':
    case 'HEAD':
      return searchInteraction(req, deps, type, req.query);
    default:
      throw methodNotAllowed(req.method, type, 'GET, POST, PUT, DELETE');
  }
}

function instanceLevel(req: FhirRequest, deps: InteractionDeps, type: string, id: string): Interaction {
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return readInteraction(req, type, id);
    case 'PUT':
      return updateInteraction(req, deps, type, id);
    case 'PATCH':
      return patchInteraction(req, deps, type, id);
    case 'DELETE':
      return deleteInteraction(req, deps, type, id);
    default:
      throw methodNotAllowed(req.method, `${type}/${id}`, 'GET, PUT, PATCH, DELETE');
  }
}
