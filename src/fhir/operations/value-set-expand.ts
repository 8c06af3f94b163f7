// ValueSet $expand (FHIR R4 valueset-operation-expand.html, terminology-service.html#expand;
// docs/terminology-expansion.md):
//
//   GET|POST [base]/ValueSet/$expand?url=…[&valueSetVersion=…]   (POST also: an inline valueSet)
//   GET|POST [base]/ValueSet/{id}/$expand
//
// The whole expansion comes from the cache (src/terminology/expand.ts); `filter`, `offset` and
// `count` are applied to it in SQL. The answer is the ValueSet with `expansion` (identifier,
// timestamp, total, offset, parameter, contains) and without its compose (unless
// includeDefinition). Read-only: GET or POST. One entry of the operation registry (ADR 0008).
import { randomUUID } from 'node:crypto';
import { FhirError, badRequest } from '../../core/errors.js';
import type { FhirRequest, FhirResponse, JsonObject } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import type { ExpansionCode } from '../../storage/terminology-store.js';
import { cachedExpansion, DEFAULT_MAX_CODES, expansionPage, expansionWarnings } from '../../terminology/expand.js';
import { operationInput, type OperationInput } from './operation-parameters.js';
import type { OperationCall, OperationEntry } from './registry.js';
import { parameterPath, valueSetSource } from './value-set-source.js';

/** Not offered: each would change what the expansion holds in a way this server does not do. */
const NOT_SUPPORTED: Record<string, string> = {
  context: 'expanding the value set bound to an element (context) is not supported; give url or valueSet',
  contextDirection: 'context is not supported',
  date: 'expanding as of a date is not supported (the current definitions are used)',
  'exclude-system': 'exclude-system is not supported',
  'system-version': 'system-version is not supported (compose.include.version picks a version)',
  'check-system-version': 'check-system-version is not supported',
  'force-system-version': 'force-system-version is not supported',
};

/** Accepted, without effect on this server's flat output without designations. */
const IGNORED_FLAGS = ['includeDesignations', 'excludeNested', 'excludeNotForUI', 'excludePostCoordinated'];

const ACCEPTED = ['url', 'valueSet', 'valueSetVersion', 'filter', 'offset', 'count', 'activeOnly', 'displayLanguage', 'includeDefinition', 'designation', ...IGNORED_FLAGS, ...Object.keys(NOT_SUPPORTED)];


interface ExpandRequest {
  filter?: string;
  offset?: number;
  count?: number;
  activeOnly?: boolean;
  displayLanguage?: string;
  includeDefinition?: boolean;
  /** The parameters given, echoed in expansion.parameter. */
  echo: JsonObject[];
}

function expandRequest(req: FhirRequest, input: OperationInput): ExpandRequest {
  const path = (name: string) => parameterPath(req, name);
  input.acceptOnly(ACCEPTED, 'expand');
  for (const name of input.names()) {
    const why = NOT_SUPPORTED[name];
    if (why) throw new FhirError(400, { code: 'not-supported', diagnostics: `$expand: ${why}`, expression: [path(name)] });
  }
  const displayLanguage = input.string('displayLanguage');
  if (displayLanguage !== undefined && !/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(displayLanguage)) {
    throw badRequest(`displayLanguage must be a language tag (BCP 47), not '${displayLanguage}'`, [path('displayLanguage')]);
  }
  input.string('designation');
  const request: ExpandRequest = {
    filter: input.string('filter'),
    offset: input.integer('offset'),
    count: input.integer('count'),
    activeOnly: input.boolean('activeOnly'),
    displayLanguage,
    includeDefinition: input.boolean('includeDefinition'),
    echo: [],
  };
  const echo = (name: string, key: string, value: unknown) => value !== undefined && request.echo.push({ name, [key]: value });
  echo('filter', 'valueString', request.filter);
  echo('offset', 'valueInteger', request.offset);
  echo('count', 'valueInteger', request.count);
  echo('activeOnly', 'valueBoolean', request.activeOnly);
  echo('displayLanguage', 'valueCode', displayLanguage);
  echo('includeDefinition', 'valueBoolean', request.includeDefinition);
  for (const name of IGNORED_FLAGS) echo(name, 'valueBoolean', input.boolean(name));
  return request;
}

/** expansion.contains[] entry (R4 ValueSet.expansion.contains). */
const containsOf = (c: ExpansionCode): JsonObject => ({
  system: c.system,
  ...(c.version !== undefined ? { version: c.version } : {}),
  code: c.code,
  ...(c.display !== undefined ? { display: c.display } : {}),
  ...(c.inactive ? { inactive: true } : {}),
});

/** The ValueSet as returned: its metadata, the expansion, the compose only when asked for. */
function expandedValueSet(valueSet: JsonObject, request: ExpandRequest, expansion: JsonObject): JsonObject {
  const { compose, expansion: _given, text: _narrative, ...rest } = valueSet;
  return { ...rest, resourceType: 'ValueSet', ...(request.includeDefinition && compose !== undefined ? { compose } : {}), expansion };
}

/** $expand: the ValueSet's cached expansion, a page of it narrowed by `filter`; the size cap is HEARTH_EXPAND_MAX_CODES. */
async function expand(call: OperationCall, store: ResourceStore): Promise<FhirResponse> {
  const input = operationInput(call.req);
  const request = expandRequest(call.req, input);
  const { valueSet, ctx } = await valueSetSource(call, store, input, 'expand');
  const expansion = await cachedExpansion(ctx, valueSet, { activeOnly: request.activeOnly, displayLanguage: request.displayLanguage, maxCodes: call.deps.config.expandMaxCodes ?? DEFAULT_MAX_CODES });
  const offset = request.offset ?? 0;
  const page = await expansionPage(ctx, expansion, { text: request.filter, offset, count: request.count ?? expansion.total });
  const warnings = expansion.fromCache ? await expansionWarnings(ctx, valueSet) : expansion.warnings;
  const parameter = [...request.echo, ...warnings.map((w) => ({ name: 'warning', valueString: w }))];
  const body = expandedValueSet(valueSet, request, {
    identifier: `urn:uuid:${randomUUID()}`,
    timestamp: new Date().toISOString(),
    total: page.total,
    ...(request.offset !== undefined || request.count !== undefined ? { offset } : {}),
    ...(parameter.length > 0 ? { parameter } : {}),
    ...(page.codes.length > 0 ? { contains: page.codes.map(containsOf) } : {}),
  });
  return { status: 200, headers: {}, body: { kind: 'json', value: body } };
}

const parameter = (name: string, type: string, documentation: string, use: 'in' | 'out' = 'in', max = '1') => ({ name, use, min: use === 'out' ? 1 : 0, max, type, documentation });

export const expandOperation: OperationEntry = {
  name: 'expand',
  levels: ['type', 'instance'],
  types: ['ValueSet'],
  readOnly: true,
  handler: expand,
  definition: {
    resourceType: 'OperationDefinition',
    id: 'hearth-valueset-expand',
    name: 'ValueSetExpand',
    title: 'Value set expansion',
    status: 'active',
    kind: 'operation',
    affectsState: false,
    code: 'expand',
    description:
      'The codes a ValueSet defines (R4 ValueSet $expand): from compose (include/exclude of concept lists, filters, whole ' +
      'systems and imported value sets) or a given expansion. Answers the ValueSet with expansion.contains, paged by ' +
      'offset/count and narrowed by filter. Expansions larger than the server limit answer 422 (too-costly); code systems ' +
      'not loaded answer 422 (not-found). Read-only.',
    resource: ['ValueSet'],
    system: false,
    type: true,
    instance: true,
    parameter: [
      parameter('url', 'uri', 'The canonical url of a ValueSet (the tenant\'s own, else a shared one); url|version allowed.'),
      parameter('valueSet', 'ValueSet', 'A ValueSet given inline (POST only).'),
      parameter('valueSetVersion', 'string', 'The version of the ValueSet named by url.'),
      parameter('filter', 'string', 'Only codes whose display or code has words starting with each word given.'),
      parameter('offset', 'integer', 'Codes to skip (paging).'),
      parameter('count', 'integer', 'Codes to return (paging); all when absent.'),
      parameter('activeOnly', 'boolean', 'Leave out inactive codes.'),
      parameter('displayLanguage', 'code', 'Displays in this language where the code system has designations in it.'),
      parameter('includeDefinition', 'boolean', 'Return the compose too.'),
      parameter('includeDesignations', 'boolean', 'Accepted; designations are not returned.'),
      parameter('excludeNested', 'boolean', 'Accepted; the expansion is always flat.'),
      parameter('return', 'ValueSet', 'The ValueSet with its expansion.', 'out'),
    ],
  },
};
