// The server's CapabilityStatement (FHIR R4 capabilitystatement.html, http.html#capabilities).
//
// conformance/capability-base.json holds the hand-maintained facts (software name, formats,
// security stub) and claims nothing about resources or interactions. Everything claimed is
// passed in by the caller from what the router really implements, so the statement cannot
// promise an interaction the server does not route. Input is checked against the R4 code
// systems and invariants (cpb-9 one entry per type, cpb-12 unique search parameter names),
// because a malformed statement is a server bug, not a client error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  CapabilityStatement,
  CapabilityStatementRest,
  CapabilityStatementRestInteraction,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceInteraction,
  CapabilityStatementRestResourceOperation,
  CapabilityStatementRestResourceSearchParam,
} from 'fhir/r4.js';
import { projectRoot } from '../core/project-root.js';
import { smartSecurity } from './smart-capability.js';
import { isResourceType } from '../core/resource-types.js';

type TypeInteraction = CapabilityStatementRestResourceInteraction['code'];
type SystemInteraction = CapabilityStatementRestInteraction['code'];
type SearchParamType = CapabilityStatementRestResourceSearchParam['type'];

// R4 value sets type-restful-interaction and system-restful-interaction, in spec order
// (the statement lists interactions in this order, whatever order the caller used).
const TYPE_INTERACTIONS: readonly TypeInteraction[] = [
  'read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type',
];
const SYSTEM_INTERACTIONS: readonly SystemInteraction[] = ['transaction', 'batch', 'search-system', 'history-system'];
// R4 value set search-param-type.
const SEARCH_PARAM_TYPES: ReadonlySet<string> = new Set([
  'number', 'date', 'string', 'token', 'reference', 'composite', 'quantity', 'uri', 'special',
]);

export interface CapabilityResourceInput {
  type: string;
  interactions: readonly string[];
  versioning: 'versioned' | 'versioned-update';
  conditionalCreate: boolean;
  conditionalUpdate: boolean;
  conditionalDelete: 'not-supported' | 'single' | 'multiple';
  conditionalRead: 'not-supported' | 'modified-since' | 'not-match' | 'full-support';
  readHistory: boolean;
  updateCreate: boolean;
  searchParams: ReadonlyArray<{ name: string; type: string; definition?: string; documentation?: string }>;
  /** Operations on this type or its instances (rest.resource.operation). */
  operations?: ReadonlyArray<CapabilityOperationInput>;
}

/** An operation as listed: its code without '$' and the canonical URL of its OperationDefinition. */
export interface CapabilityOperationInput {
  name: string;
  definition: string;
}

export interface CapabilityInput {
  /** Absolute base URL of the endpoint, without trailing slash. */
  baseUrl: string;
  softwareVersion: string;
  /** When this statement was generated (FHIR dateTime). */
  date: string;
  resources: ReadonlyArray<CapabilityResourceInput>;
  systemInteractions: readonly string[];
  /** Parameters of system search (rest.searchParam), e.g. _type. */
  systemSearchParams?: CapabilityResourceInput['searchParams'];
  /** System-level operations (rest.operation). */
  operations?: ReadonlyArray<CapabilityOperationInput>;
}

export const CAPABILITY_BASE_FILE = 'conformance/capability-base.json';

/** Reads the base file fresh on each call: callers cache the result, and edits need no restart. */
export function loadCapabilityBase(): CapabilityStatement {
  const base = JSON.parse(readFileSync(join(projectRoot(), CAPABILITY_BASE_FILE), 'utf8')) as CapabilityStatement;
  const rest = base.rest?.[0];
  if (base.resourceType !== 'CapabilityStatement' || base.rest?.length !== 1 || rest?.mode !== 'server') {
    throw new Error(`${CAPABILITY_BASE_FILE} must be a CapabilityStatement with exactly one rest entry in mode server`);
  }
  // The base may not claim anything the router decides.
  if (rest.resource || rest.interaction || rest.operation || rest.searchParam) {
    throw new Error(`${CAPABILITY_BASE_FILE} must not list resources, interactions, operations or search parameters`);
  }
  return base;
}

export function buildCapabilityStatement(input: CapabilityInput): CapabilityStatement {
  const base = loadCapabilityBase();
  const rest: CapabilityStatementRest = { ...base.rest![0] };
  rest.security = smartSecurity(input.baseUrl, rest.security);
  const resources = buildResources(input.resources);
  if (resources.length > 0) rest.resource = resources;
  const interactions = ordered(input.systemInteractions, SYSTEM_INTERACTIONS, 'system interaction');
  if (interactions.length > 0) rest.interaction = interactions.map((code) => ({ code }));
  const systemParams = (input.systemSearchParams ?? []).map((p) => searchParam('system search', p));
  if (new Set(systemParams.map((p) => p.name)).size !== systemParams.length) throw new Error('system search parameter names must be unique');
  if (systemParams.length > 0) rest.searchParam = systemParams;
  const operations = buildOperations('system', input.operations);
  if (operations.length > 0) rest.operation = operations;
  return {
    ...base,
    date: input.date,
    software: { ...base.software, name: base.software?.name ?? 'Hearth', version: input.softwareVersion },
    // kind=instance requires implementation (cpb-14); its url is this endpoint.
    implementation: { description: base.implementation?.description ?? 'Hearth', ...base.implementation, url: input.baseUrl },
    rest: [rest],
  };
}

function buildResources(inputs: ReadonlyArray<CapabilityResourceInput>): CapabilityStatementRestResource[] {
  const seen = new Set<string>();
  for (const r of inputs) {
    if (!isResourceType(r.type)) throw new Error(`Capability input names unknown resource type '${r.type}'`);
    if (seen.has(r.type)) throw new Error(`Capability input lists ${r.type} twice (cpb-9)`);
    seen.add(r.type);
  }
  return [...inputs].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)).map(buildResource);
}

function buildResource(r: CapabilityResourceInput): CapabilityStatementRestResource {
  const out: CapabilityStatementRestResource = { type: r.type };
  const interactions = ordered(r.interactions, TYPE_INTERACTIONS, `${r.type} interaction`);
  // FHIR JSON forbids empty arrays, so absent lists are omitted rather than [].
  if (interactions.length > 0) out.interaction = interactions.map((code) => ({ code }));
  out.versioning = r.versioning;
  out.readHistory = r.readHistory;
  out.updateCreate = r.updateCreate;
  out.conditionalCreate = r.conditionalCreate;
  out.conditionalRead = r.conditionalRead;
  out.conditionalUpdate = r.conditionalUpdate;
  out.conditionalDelete = r.conditionalDelete;
  const params = r.searchParams.map((p) => searchParam(r.type, p));
  const names = new Set(params.map((p) => p.name));
  if (names.size !== params.length) throw new Error(`${r.type} search parameter names must be unique (cpb-12)`);
  if (params.length > 0) out.searchParam = params;
  const operations = buildOperations(r.type, r.operations);
  if (operations.length > 0) out.operation = operations;
  return out;
}

/** rest[.resource].operation entries: names unique where they are listed. */
function buildOperations(where: string, inputs: ReadonlyArray<CapabilityOperationInput> = []): CapabilityStatementRestResourceOperation[] {
  if (new Set(inputs.map((op) => op.name)).size !== inputs.length) throw new Error(`${where} operation names must be unique`);
  return inputs.map((op) => ({ name: op.name, definition: op.definition }));
}

function searchParam(
  type: string,
  p: CapabilityResourceInput['searchParams'][number],
): CapabilityStatementRestResourceSearchParam {
  if (!SEARCH_PARAM_TYPES.has(p.type)) throw new Error(`${type} search parameter '${p.name}' has invalid type '${p.type}'`);
  const out: CapabilityStatementRestResourceSearchParam = { name: p.name, type: p.type as SearchParamType };
  if (p.definition) out.definition = p.definition;
  if (p.documentation) out.documentation = p.documentation;
  return out;
}

/** `codes` deduplicated and in value-set order; throws on a code outside the value set. */
function ordered<T extends string>(codes: readonly string[], valueSet: readonly T[], what: string): T[] {
  const unknown = codes.filter((c) => !(valueSet as readonly string[]).includes(c));
  if (unknown.length > 0) throw new Error(`Unknown ${what} code(s): ${unknown.join(', ')}`);
  return valueSet.filter((code) => codes.includes(code));
}
