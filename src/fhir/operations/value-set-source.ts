// Which ValueSet a terminology operation works on (FHIR R4 valueset-operation-expand.html and
// -validate-code.html): at instance level ValueSet/{id}, read within the caller's access; at type
// level `url` (+ `valueSetVersion`, or a `url|version` canonical), found through the tenant's
// definitions and then the shared ones, or an inline `valueSet` resource in a POSTed Parameters.
import { badRequest, gone, notFound } from '../../core/errors.js';
import type { FhirRequest, JsonObject } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { splitCanonical, type TerminologyContext } from '../../terminology/definitions.js';
import { requestAccess } from '../access/read-constraint.js';
import { terminologyContext } from '../terminology-definitions.js';
import type { OperationInput } from './operation-parameters.js';
import type { OperationCall } from './registry.js';

/** A parameter's element path as operation-parameters.ts names it: the query name (GET), else in the Parameters. */
export function parameterPath(req: FhirRequest, name: string): string {
  return req.method === 'POST' && req.body !== undefined && req.bodyKind !== 'form' ? `Parameters.parameter.where(name='${name}')` : name;
}

export interface ValueSetSource {
  valueSet: JsonObject;
  ctx: TerminologyContext;
}

async function instanceValueSet(call: OperationCall, store: ResourceStore, input: OperationInput, operation: string): Promise<JsonObject> {
  const path = (name: string) => parameterPath(call.req, name);
  for (const name of ['url', 'valueSet', 'valueSetVersion']) {
    if (input.names().includes(name)) throw badRequest(`$${operation} on ValueSet/${call.id} takes no ${name} (the instance is the value set)`, [path(name)]);
  }
  const access = await requestAccess(store, call.req.access);
  const current = await store.readCurrent('ValueSet', call.id as string, { reach: access.reach(['r']) });
  if (!current) throw notFound(`ValueSet/${call.id} is not known`);
  if (current.deleted || current.content === null) throw gone(`ValueSet/${call.id} was deleted`);
  return JSON.parse(current.content) as JsonObject;
}

async function typeValueSet(ctx: TerminologyContext, req: FhirRequest, input: OperationInput, operation: string): Promise<JsonObject> {
  const path = (name: string) => parameterPath(req, name);
  const url = input.string('url');
  const inline = input.complex('valueSet', 'resource');
  const version = input.string('valueSetVersion');
  if (url !== undefined && inline !== undefined) throw badRequest(`$${operation} takes url or valueSet, not both`, [path('valueSet')]);
  if (inline !== undefined) {
    if (inline.resourceType !== 'ValueSet') throw badRequest('The parameter valueSet must be a ValueSet resource', [path('valueSet')]);
    if (version !== undefined) throw badRequest('valueSetVersion goes with url, not with an inline valueSet', [path('valueSetVersion')]);
    return inline;
  }
  if (url === undefined || url === '') throw badRequest(`$${operation} on ValueSet needs url or valueSet (or a ValueSet instance: ValueSet/{id}/$${operation})`, [path('url')]);
  const canonical = splitCanonical(url);
  if (canonical.version !== undefined && version !== undefined && canonical.version !== version) {
    throw badRequest(`The url names version ${canonical.version} but valueSetVersion is ${version}`, [path('valueSetVersion')]);
  }
  const wanted = version ?? canonical.version;
  const found = await ctx.definitions.find('ValueSet', canonical.url, wanted);
  if (!found) throw notFound(`The value set ${canonical.url}${wanted !== undefined ? `|${wanted}` : ''} is not known`);
  return found;
}

/** The ValueSet of this call and the terminology context of its transaction. */
export async function valueSetSource(call: OperationCall, store: ResourceStore, input: OperationInput, operation: string): Promise<ValueSetSource> {
  const ctx = terminologyContext(store, call.deps);
  const valueSet = call.level === 'instance' ? await instanceValueSet(call, store, input, operation) : await typeValueSet(ctx, call.req, input, operation);
  return { valueSet, ctx };
}
