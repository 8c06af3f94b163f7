// CodeSystem $subsumes (FHIR R4 codesystem-operations.html#subsumes, terminology-service.html
// "Subsumption testing"): whether concept A subsumes concept B in one code system's is-a
// hierarchy, from the reflexive transitive closure: one query for both concepts, one or two
// closure probes.
import { FhirError, notFound } from '../core/errors.js';
import type { TerminologyContext } from './definitions.js';
import { conceptLabel, findCodeSystem, findConcept } from './lookup.js';

export type SubsumptionOutcome = 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed';

export interface SubsumesRequest {
  system: string;
  version?: string;
  codeA: string;
  codeB: string;
  /** Element paths of the inputs, for the errors (e.g. `codeA` or `Parameters.parameter.where(name='codingA')`). */
  pathA: string;
  pathB: string;
}

/**
 * The outcome for A and B. An unknown code system is a 404 (as for $lookup); a code the code
 * system does not define is a 400 `code-invalid` naming the parameter: the request names a
 * concept that does not exist, so no subsumption can be stated either way.
 */
export async function subsumption(ctx: TerminologyContext, request: SubsumesRequest): Promise<SubsumptionOutcome> {
  const cs = await findCodeSystem(ctx, request.system, request.version);
  if (typeof cs === 'string') throw notFound(cs);
  const version = cs.version || undefined;
  const [a, b] = await Promise.all([findConcept(ctx, cs, request.codeA), findConcept(ctx, cs, request.codeB)]);
  const unknown = [
    ...(a ? [] : [{ code: request.codeA, path: request.pathA }]),
    ...(b ? [] : [{ code: request.codeB, path: request.pathB }]),
  ];
  if (unknown.length > 0 || !a || !b) {
    throw new FhirError(
      400,
      unknown.map((u) => ({ code: 'code-invalid' as const, diagnostics: `There is no concept ${conceptLabel({ system: request.system, version, code: u.code })}`, expression: [u.path] })),
    );
  }
  if (a.code === b.code) return 'equivalent';
  const [aOverB, bOverA] = await Promise.all([ctx.store.subsumes(cs, a.code, b.code), ctx.store.subsumes(cs, b.code, a.code)]);
  // Both ways only in a cyclic hierarchy: the two concepts are then the same place in it.
  if (aOverB && bOverA) return 'equivalent';
  if (aOverB) return 'subsumes';
  if (bOverA) return 'subsumed-by';
  return 'not-subsumed';
}
