// The content check of writes under SMART scopes (SMART App Launch 2.x
// scopes-and-launch-context.html; issue 10 "Scopes and enforcement"), made in the write path
// where both the previous version and the new content are known: create, update (conditional,
// and update-as-create), patch, delete, and each batch or transaction entry, which run the same
// interaction code. The coarse check (scope-check.ts) has already decided that some scope grants
// the permission letter (c create, u update/patch, d delete) on the type; this decides whether
// one such scope reaches the data:
//
// - administrators, and a grant without data constraint (system context, or user context for a
//   Practitioner user; access-scope.ts effectiveGrants decides for reads and writes alike),
//   reach everything: nothing is checked (no cost either);
// - a patient-context grant (needs the launch patient; `user/` grants behave alike when
//   fhirUser is Patient/x) reaches versions inside that patient's compartment and no other
//   patient's (write-compartment.ts);
// - a granular grant (`?category=...`) reaches versions matching its condition (write-granular.ts);
//   both, when a patient grant is granular.
//
// One grant must reach both the previous version (when there is one) and the new content.
// A previous version out of reach is answered as if there were none (no existence oracle): a
// delete finds nothing to delete, an update or patch finds nothing to update. For the same
// reason a constrained caller cannot update-as-create with an id of their choosing (the answer
// would tell a free id from someone else's): that answers 404 like any unknown id, and creation
// goes through POST, where the server picks the id. Tombstones are out of reach of every
// constrained grant (a deleted version has no content to judge). New content out of reach: 403.
import { forbidden } from '../../core/errors.js';
import type { Permission } from '../../core/smart-scopes.js';
import { effectiveGrants } from './access-scope.js';
import type { AccessContext, JsonObject } from '../../core/types.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import type { Indexer } from '../../search/indexer.js';
import type { SearchIndex } from '../../search/types.js';
import type { TenantSearchParameters } from '../../search/tenant-params.js';
import type { ResourceStore, StoredVersion } from '../../storage/resource-store.js';
import { compartmentProblem } from './write-compartment.js';
import { granularProblem } from './write-granular.js';

/** The letters of writes. */
export type WriteLetter = Extract<Permission, 'c' | 'u' | 'd'>;

/** A grant that reaches only some data: the launch patient's compartment, a granular condition, or both. */
export interface ConstrainedGrant {
  scope: string;
  patient?: string;
  constraints?: URLSearchParams;
}

/** What the caller's scopes allow writing with one letter on one type: everything, or what one of `grants` reaches. */
export type WriteReach = { kind: 'all' } | { kind: 'some'; grants: readonly ConstrainedGrant[] };

const ALL: WriteReach = Object.freeze({ kind: 'all' });
/** The reach of `access` for writes with `letter` on `type`. */
export function writeReach(access: AccessContext, letter: WriteLetter, type: string): WriteReach {
  if (access.isAdmin) return ALL;
  const grants: ConstrainedGrant[] = [];
  // The same grants the read side enforces: confined to a patient, or not (access-scope.ts).
  for (const { scope, patient } of effectiveGrants(access)) {
    if (!scope.permissions.has(letter) || (scope.resourceType !== '*' && scope.resourceType !== type)) continue;
    if (patient === undefined && scope.constraints === undefined) return ALL;
    grants.push({ scope: scope.scope, ...(patient === undefined ? {} : { patient }), ...(scope.constraints ? { constraints: scope.constraints } : {}) });
  }
  return { kind: 'some', grants };
}

/** The search registry and indexer of the tenant (TenantSearchState), which judge content. */
export interface ContentJudges {
  searching: SearchRegistry;
  indexer: Indexer;
}

/** Why `grant` does not reach the version (`resource` stored as type/id); undefined when it does. */
export function grantProblem(grant: ConstrainedGrant, judges: ContentJudges, type: string, id: string, resource: JsonObject, index: SearchIndex): string | undefined {
  if (grant.patient !== undefined) {
    const problem = compartmentProblem(judges.searching, type, id, resource, index, grant.patient);
    if (problem) return problem;
  }
  if (grant.constraints !== undefined) return granularProblem(judges.searching, type, id, index, grant.constraints);
  return undefined;
}

/**
 * The check of one write, for one letter and type. `visible` filters the previous version as the
 * caller may see it; `assertContent` refuses new content out of reach.
 */
export class WriteGuard {
  private readonly indexes = new WeakMap<StoredVersion, { resource: JsonObject; index: SearchIndex }>();

  constructor(
    readonly reach: WriteReach,
    private readonly judges: ContentJudges,
    readonly letter: WriteLetter,
    readonly type: string,
  ) {}

  /** True when some data is out of reach (the caller is not an administrator and has no unconstrained grant). */
  get constrained(): boolean {
    return this.reach.kind === 'some';
  }

  /** The grants that reach the stored version `v` (a live version of this type); all of them when unconstrained. */
  private grantsReaching(v: StoredVersion): readonly ConstrainedGrant[] {
    if (this.reach.kind === 'all') return [];
    if (v.deleted || v.content === null) return [];
    let parsed = this.indexes.get(v);
    if (!parsed) {
      const resource = JSON.parse(v.content) as JsonObject;
      parsed = { resource, index: this.judges.indexer({ ...resource, id: v.id }) };
      this.indexes.set(v, parsed);
    }
    const { resource, index } = parsed;
    return this.reach.grants.filter((g) => grantProblem(g, this.judges, this.type, v.id, resource, index) === undefined);
  }

  /** `current` as this caller may see it for this write: undefined when it is absent or out of reach (tombstones too, when constrained). */
  visible(current: StoredVersion | undefined): StoredVersion | undefined {
    if (!current || this.reach.kind === 'all') return current;
    return this.grantsReaching(current).length > 0 ? current : undefined;
  }

  /** The versions among `matches` (a conditional interaction's search result) this caller may see. */
  reachable(matches: StoredVersion[]): StoredVersion[] {
    return this.reach.kind === 'all' ? matches : matches.filter((m) => this.visible(m) !== undefined);
  }

  /**
   * 403 unless one grant reaches the new content `resource` (to be stored as type/`id`) and, when
   * given, the visible previous version.
   */
  assertContent(id: string, resource: JsonObject, previous?: StoredVersion): void {
    if (this.reach.kind === 'all') return;
    const candidates = previous && !previous.deleted ? this.grantsReaching(previous) : this.reach.grants;
    const verb = this.letter === 'c' ? 'create' : 'update';
    if (candidates.length === 0) {
      throw forbidden(`None of the caller's scopes lets it ${verb} ${this.type} resources (patient-context scopes need a launch patient)`);
    }
    const index = this.judges.indexer({ ...resource, id });
    const problems: string[] = [];
    for (const grant of candidates) {
      const problem = grantProblem(grant, this.judges, this.type, id, resource, index);
      if (problem === undefined) return;
      problems.push(`${grant.scope}${grant.patient ? ` (patient ${grant.patient})` : ''}: ${problem}`);
    }
    throw forbidden(`The scopes do not allow this ${verb} of ${this.type}: ${problems.join('; ')}`);
  }
}

/** The guard of one write of `type` with `letter` by `access`; reads the tenant's search state only when the caller is constrained. */
export async function openWriteGuard(store: ResourceStore, searchParams: TenantSearchParameters, access: AccessContext, letter: WriteLetter, type: string): Promise<WriteGuard> {
  const reach = writeReach(access, letter, type);
  if (reach.kind === 'all') return new WriteGuard(reach, UNUSED_JUDGES, letter, type);
  const { searching, indexer } = await searchParams.load(store);
  return new WriteGuard(reach, { searching, indexer }, letter, type);
}

const UNUSED_JUDGES: ContentJudges = Object.freeze({
  get searching(): SearchRegistry {
    throw new Error('an unconstrained write guard judges no content');
  },
  indexer: () => {
    throw new Error('an unconstrained write guard judges no content');
  },
});
