// Binding checks on every write (issue 12; src/terminology/bindings.ts): a resource breaking a
// required binding is refused with a 400 naming each element and its ValueSet, before anything
// is stored; extensible findings are kept for the response when the client asked for an
// OperationOutcome (Prefer: return=OperationOutcome, http.html#ops).
import { FhirError, type IssueInput } from '../core/errors.js';
import type { FhirRequest, JsonObject } from '../core/types.js';
import type { ResourceStore } from '../storage/resource-store.js';
import { checkBindings } from '../terminology/bindings.js';
import type { InteractionDeps } from './interactions/context.js';
import { terminologyContext } from './terminology-definitions.js';

const warnings = new WeakMap<FhirRequest, IssueInput[]>();

/** Checks `resource` before it is stored; throws a 400 OperationOutcome when a required binding is broken. */
export async function checkWriteBindings(store: ResourceStore, deps: InteractionDeps, req: FhirRequest, type: string, resource: JsonObject): Promise<void> {
  if (deps.config.bindingChecks !== 'on') return;
  const issues = await checkBindings(terminologyContext(store, deps), store.tenantId, type, resource, {
    extensible: req.prefer.return === 'OperationOutcome',
    unknownSystems: deps.config.bindingUnknownSystems ?? 'ignore',
  });
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length > 0) throw new FhirError(400, errors);
  if (issues.length > 0) warnings.set(req, issues);
}

/** The extensible-binding warnings a write of this request produced (for its OperationOutcome). */
export function bindingWarnings(req: FhirRequest): IssueInput[] {
  return warnings.get(req) ?? [];
}
