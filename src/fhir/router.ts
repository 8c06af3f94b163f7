// Maps a transport-neutral FhirRequest onto an interaction (FHIR R4 http.html, the
// "Service Base URL" table). REST requests, batch entries and transaction entries all route
// through here; POST [base] itself is dispatched by FhirService before routing. $operations
// come from the operation registry (operations/registry.ts), as do the CapabilityStatement's.
import { FhirError, badRequest, notFound, notSupported } from '../core/errors.js';
import { capabilitiesInteraction } from './interactions/capabilities.js';
import type { Interaction, InteractionDeps } from './interactions/context.js';
import { createInteraction } from './interactions/create.js';
import { conditionalDeleteInteraction, deleteInteraction } from './interactions/delete.js';
import { historyInteraction } from './interactions/history.js';
import { patchInteraction } from './interactions/patch.js';
import { readInteraction, vreadInteraction } from './interactions/read.js';
import { searchInteraction, systemSearchInteraction } from './interactions/search.js';
import { conditionalUpdateInteraction, updateInteraction } from './interactions/update.js';
import { isResourceType } from '../core/resource-types.js';
import type { FhirRequest, HttpMethod } from '../core/types.js';
import { assertValidId } from '../core/ids.js';
import { BUILT_IN_OPERATIONS } from './operations/index.js';
import { appliesTo, definitionUrl, type OperationLevel, type OperationRegistry } from './operations/registry.js';
import { refuseAppendOnlyWrite } from './append-only.js';

export interface RouterOptions {
  softwareVersion: string;
  /** The $operations served; the built-in ones when absent. */
  operations?: OperationRegistry;
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
  const operations = options.operations ?? BUILT_IN_OPERATIONS;
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
    return capabilitiesInteraction(req, options.softwareVersion, deps, operations);
  }
  const operation = operationRoute(req, deps, operations);
  if (operation) return operation;
  if (first === '_history' && second === undefined) {
    if (!get) throw methodNotAllowed(req.method, '_history', 'GET');
    return historyInteraction(req, deps);
  }
  if (first.startsWith('$') || second?.startsWith('$') || third?.startsWith('$')) {
    throw notSupported(`Operation ${[first, second, third].find((s) => s?.startsWith('$'))} is not supported`, 400);
  }
  if (!isResourceType(first)) throw notFound(`Unknown resource type '${first}'`);
  const type = first;
  if (rest.length > 0) throw notFound(`No such path: ${req.path.join('/')}`);
  // AuditEvent and the like: only the server writes them (append-only.ts).
  if (third === undefined && second !== '_search' && second !== '_history') refuseAppendOnlyWrite(req.method, type, req.path.join('/'));
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
  if (third === undefined) {
    const definition = type === 'OperationDefinition' && get ? operationDefinitionRead(req, operations, second) : undefined;
    return definition ?? instanceLevel(req, deps, type, second);
  }
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

/**
 * A registered $operation (operations.html#executing): [base]/$op, [base]/Type/$op or
 * [base]/Type/id/$op, POST always and GET too when it changes nothing; or an asynchronous
 * operation's status URL, [base]/{segment}/{job}. Undefined for anything else, so unknown
 * operations reach the 400 below (a request for something this server does not offer is the
 * client's to change: no input answers 5xx).
 */
function operationRoute(req: FhirRequest, deps: InteractionDeps, operations: OperationRegistry): Interaction | undefined {
  const [first, second, third, fourth] = req.path;
  const status = second !== undefined && third === undefined ? operations.statusRoute(first) : undefined;
  if (status?.asyncStatus) {
    const { handler } = status.asyncStatus;
    if (req.method !== 'GET' && req.method !== 'DELETE') throw methodNotAllowed(req.method, `${first}/${second}`, 'GET, DELETE');
    assertValidId(second, 'job');
    return {
      target: { interaction: 'operation', operation: `${status.name}-status`, id: second },
      readOnly: req.method === 'GET',
      run: (store) => handler(req, deps, second, store),
    };
  }
  let invoked: { level: OperationLevel; segment: string; type?: string; id?: string } | undefined;
  if (first.startsWith('$') && second === undefined) invoked = { level: 'system', segment: first };
  else if (second?.startsWith('$') && third === undefined) invoked = { level: 'type', segment: second, type: first };
  else if (third?.startsWith('$') && fourth === undefined) invoked = { level: 'instance', segment: third, type: first, id: second };
  const entry = invoked && operations.get(invoked.segment.slice(1));
  if (!invoked || !entry) return undefined;
  const { level, type, id } = invoked;
  if (type !== undefined && !isResourceType(type)) throw notFound(`Unknown resource type '${type}'`);
  if (id !== undefined) assertValidId(id, `${type}.id`);
  const path = req.path.join('/');
  if (!appliesTo(entry, level, type)) throw notSupported(`Operation $${entry.name} is not supported on ${path}`, 400);
  const allowed = entry.readOnly ? 'GET, POST' : 'POST';
  if (req.method !== 'POST' && !(entry.readOnly && (req.method === 'GET' || req.method === 'HEAD'))) throw methodNotAllowed(req.method, path, allowed);
  return {
    target: { interaction: 'operation', resourceType: type, id, operation: entry.name },
    readOnly: entry.readOnly,
    run: (store) => entry.handler({ req, deps, level, type, id }, store),
  };
}

/** GET [base]/OperationDefinition/{id} of a registered operation: its definition, canonical url set. */
function operationDefinitionRead(req: FhirRequest, operations: OperationRegistry, id: string): Interaction | undefined {
  const entry = operations.byDefinitionId(id);
  if (!entry) return undefined;
  const value = { ...entry.definition, url: definitionUrl(req.baseUrl, entry) };
  return {
    target: { interaction: 'read', resourceType: 'OperationDefinition', id },
    readOnly: true,
    run: async () => ({ status: 200, headers: {}, body: { kind: 'json', value } }),
  };
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
