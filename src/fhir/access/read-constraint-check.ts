// The fine access check on a parsed search (issue 10, "Scopes and enforcement"; SMART App
// Launch 2.x scopes-and-launch-context.html): before the search runs, every resource type it
// reaches besides the searched one must be allowed by the caller's scopes, else a 403
// OperationOutcome naming the scope needed:
// - `_include` targets and `_revinclude` sources are returned to the caller: 'r' (read). An
//   _include through a parameter that may point at several types (`Observation:subject`) needs
//   'r' on at least one of them; the others are out of reach and yield nothing (liveRows);
// - chain targets and `_has` sources are searched on the caller's behalf: 's' (search);
// - the Lists of `_list` are read: 'r' on List.
// What the scopes allow is then confined by the data constraint inside every statement
// (access-scope.ts, src/search/reach.ts): this check refuses what no scope names at all.
import type { ScopedInteraction } from '../../core/smart-scopes.js';
import type { AccessContext } from '../../core/types.js';
import type { Filter, IncludeSpec, SearchQuery } from '../../search/query.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import { RESOURCE_TYPES } from '../../core/resource-types.js';
import type { AccessScope } from './access-scope.js';
import { missingScope } from './scope-check.js';

function require(access: AccessContext, scope: AccessScope, type: string, interaction: ScopedInteraction, why: string): void {
  if (!scope.permits(type, interaction === 'read' ? 'r' : 's')) throw missingScope(access, interaction, type, why);
}

/** The types an _include may return: its target type, else every target of its parameter(s). */
function includeTargets(spec: IncludeSpec, registry: SearchRegistry): string[] {
  if (spec.targetType !== undefined) return [spec.targetType];
  const defs = spec.def ? [spec.def] : [...registry.forType(spec.sourceType).values()].filter((d) => d.type === 'reference');
  const targets = new Set(defs.flatMap((d) => (d.targets.length === 0 ? RESOURCE_TYPES : d.targets)));
  return [...targets].sort();
}

function checkInclude(access: AccessContext, scope: AccessScope, spec: IncludeSpec, registry: SearchRegistry): void {
  const name = `${spec.direction === 'include' ? '_include' : '_revinclude'}=${spec.sourceType}:${spec.def?.code ?? '*'}${spec.targetType ? `:${spec.targetType}` : ''}`;
  if (spec.direction === 'revinclude') return require(access, scope, spec.sourceType, 'read', name);
  const targets = includeTargets(spec, registry);
  if (targets.some((t) => scope.permits(t, 'r'))) return;
  throw missingScope(access, 'read', targets.length === 1 ? targets[0] : '*', name);
}

function checkFilter(access: AccessContext, scope: AccessScope, filter: Filter): void {
  switch (filter.kind) {
    case 'chain':
      require(access, scope, filter.targetType, 'search-type', `the chain through ${filter.def.code} to ${filter.targetType}`);
      return checkFilter(access, scope, filter.inner);
    case 'has':
      require(access, scope, filter.sourceType, 'search-type', `_has over ${filter.sourceType}`);
      return checkFilter(access, scope, filter.inner);
    case 'list':
      return require(access, scope, 'List', 'read', '_list');
    default:
      return;
  }
}

/** Throws a 403 OperationOutcome when `query` reaches a type the caller's scopes do not allow. */
export function checkSearchReach(access: AccessContext, scope: AccessScope, query: SearchQuery, registry: SearchRegistry): void {
  if (access.isAdmin) return;
  for (const spec of query.includes) checkInclude(access, scope, spec, registry);
  for (const filter of query.filters) checkFilter(access, scope, filter);
}
