// The operation registry (FHIR R4 operations.html; docs/adr/0008-operation-registry.md): each
// $operation is one entry, read both by the router (which requests reach it) and by the
// CapabilityStatement (rest.operation for system level, rest.resource.operation for type and
// instance level, each naming its OperationDefinition), so neither can claim what the other
// does not do.
import type { OperationDefinition } from 'fhir/r4.js';
import { isResourceType } from '../../core/resource-types.js';
import type { FhirRequest, FhirResponse } from '../../core/types.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import type { InteractionDeps } from '../interactions/context.js';

export type OperationLevel = 'system' | 'type' | 'instance';

/** One invocation: the request, and where it was invoked ([base], [base]/Type or [base]/Type/id). */
export interface OperationCall {
  req: FhirRequest;
  deps: InteractionDeps;
  level: OperationLevel;
  type?: string;
  id?: string;
}

/** A second path an asynchronous operation answers on (R4 async.html): [base]/{segment}/{job}. */
export interface AsyncStatusRoute {
  segment: string;
  /** GET polls, DELETE cancels; `readOnly` for GET only. */
  handler(req: FhirRequest, deps: InteractionDeps, jobId: string, store: ResourceStore): Promise<FhirResponse>;
}

export interface OperationEntry {
  /** Its code, without '$'. */
  name: string;
  levels: readonly OperationLevel[];
  /** Types it applies to at type and instance level; every resource type when absent. */
  types?: readonly string[];
  /** At instance level, only these types (when narrower than `types`). */
  instanceTypes?: readonly string[];
  /**
   * No side effects (OperationDefinition.affectsState false): invocable with GET as well as
   * POST (operations.html#executing) and run in a read-only transaction.
   */
  readOnly: boolean;
  handler(call: OperationCall, store: ResourceStore): Promise<FhirResponse>;
  /** Served at [base]/OperationDefinition/{id}; `url` is set from the base URL when served. */
  definition: OperationDefinition & { id: string };
  asyncStatus?: AsyncStatusRoute;
}

export interface OperationRegistry {
  readonly entries: readonly OperationEntry[];
  get(name: string): OperationEntry | undefined;
  /** The entry whose async status segment this is. */
  statusRoute(segment: string): OperationEntry | undefined;
  /** The entry whose OperationDefinition has this id. */
  byDefinitionId(id: string): OperationEntry | undefined;
}

/** Checks each entry against its OperationDefinition, so the two cannot disagree. */
export function createOperationRegistry(entries: readonly OperationEntry[]): OperationRegistry {
  const byName = new Map<string, OperationEntry>();
  for (const entry of entries) {
    const d = entry.definition;
    if (byName.has(entry.name)) throw new Error(`Operation $${entry.name} is registered twice`);
    if (d.code !== entry.name) throw new Error(`Operation $${entry.name}: its OperationDefinition has code '${d.code}'`);
    if (d.system !== entry.levels.includes('system') || d.type !== entry.levels.includes('type') || d.instance !== entry.levels.includes('instance')) {
      throw new Error(`Operation $${entry.name}: OperationDefinition system/type/instance disagree with levels ${entry.levels.join(', ')}`);
    }
    if (d.affectsState === entry.readOnly) throw new Error(`Operation $${entry.name}: affectsState must be ${!entry.readOnly}`);
    for (const type of [...(entry.types ?? []), ...(entry.instanceTypes ?? [])]) if (!isResourceType(type)) throw new Error(`Operation $${entry.name} names unknown type ${type}`);
    byName.set(entry.name, entry);
  }
  const frozen = Object.freeze([...entries]);
  return {
    entries: frozen,
    get: (name) => byName.get(name),
    statusRoute: (segment) => frozen.find((e) => e.asyncStatus?.segment === segment),
    byDefinitionId: (id) => frozen.find((e) => e.definition.id === id),
  };
}

/** The canonical URL of an entry's OperationDefinition at this endpoint. */
export const definitionUrl = (baseUrl: string, entry: OperationEntry) => `${baseUrl}/OperationDefinition/${entry.definition.id}`;

/** Whether `entry` may be invoked at `level` on `type`. */
export function appliesTo(entry: OperationEntry, level: OperationLevel, type?: string): boolean {
  if (!entry.levels.includes(level)) return false;
  if (level === 'system') return true;
  const types = level === 'instance' ? (entry.instanceTypes ?? entry.types) : entry.types;
  return types === undefined || (type !== undefined && types.includes(type));
}
