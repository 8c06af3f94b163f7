// ValueSet expansion with a cache (FHIR R4 valueset.html#expansion, terminology-service.html
// #expand; docs/terminology-expansion.md). The entry point for $expand, $validate-code, search
// `:in`/`:not-in` and binding checks:
//
//   const expansion = await cachedExpansion(ctx, valueSet, { activeOnly });
//   expansion.id    -> value_set_expansion.id: its codes are the rows of value_set_expansion_code
//   expansion.codes -> the codes, when this transaction could not store them (READ ONLY)
//
// The whole expansion (before any text filter or paging) is stored once per fingerprint: a hash
// of the ValueSet's definition, the parameters that change what it holds (activeOnly,
// displayLanguage) and both terminology generations (shared and the tenant's). Loading a code
// system or writing a ValueSet/CodeSystem bumps a generation, so a stale entry is never asked for
// again; nothing is invalidated in place.
import { createHash } from 'node:crypto';
import type { JsonObject } from '../core/types.js';
import { NeedsWritableTransaction } from '../storage/resource-store.js';
import type { ExpansionCode, TerminologyGenerations } from '../storage/terminology-store.js';
import { splitCanonical, type TerminologyContext } from './definitions.js';
import { composeCodes } from './expansion-compose.js';
import { tooCostly } from './expansion-problems.js';
import { completeVersion } from './expansion-system.js';
import { textMatcher } from './expansion-text.js';

/** Most codes an expansion may hold unless configured otherwise; more answer 422 too-costly. */
export const DEFAULT_MAX_CODES = 100_000;

export interface ExpansionParams {
  /** Leave out inactive codes ($expand activeOnly; also when compose.inactive is false). */
  activeOnly?: boolean;
  /** Displays from designations in this language (BCP 47) where the code system has them. */
  displayLanguage?: string;
  /** Most codes the expansion may hold (default DEFAULT_MAX_CODES); not part of the fingerprint. */
  maxCodes?: number;
  /**
   * In a READ ONLY transaction, an expansion not cached yet is computed and kept in memory
   * (`codes`, no `id`) instead of throwing NeedsWritableTransaction (for callers that cannot run
   * again read-write; FhirService does that for every read interaction).
   */
  inMemoryWhenReadOnly?: boolean;
}

export interface ValueSetExpansion {
  /**
   * The stored expansion: its codes are value_set_expansion_code rows with this expansion_id.
   * Always set on PostgreSQL unless `inMemoryWhenReadOnly` was asked for.
   */
  id?: string;
  /** The codes, only when they were not stored (a store without a cache, or inMemoryWhenReadOnly); `id` is then absent. */
  codes?: readonly ExpansionCode[];
  /** How many codes the whole expansion holds. */
  total: number;
  /** Whether it was found in the cache (else computed by this call). */
  fromCache: boolean;
  /** Notes from computing it (codes listed from systems not loaded); empty when fromCache (see expansionWarnings). */
  warnings: readonly string[];
}

/** Bumped when what is stored for a fingerprint changes meaning. */
const FORMAT = 'hearth-expansion-1';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The cache key: the definition that decides membership (url, version, compose — or the given
 * expansion's contains when there is no compose), the membership-changing parameters and both
 * generations. The narrative, meta and other metadata do not take part.
 */
export function expansionFingerprint(valueSet: JsonObject, params: ExpansionParams, generations: TerminologyGenerations): string {
  const definition = valueSet.compose !== undefined ? { compose: valueSet.compose } : { contains: (valueSet.expansion as JsonObject | undefined)?.contains };
  const key = [FORMAT, generations.shared, generations.tenant, params.activeOnly === true, params.displayLanguage?.toLowerCase() ?? '', valueSet.url ?? null, valueSet.version ?? null, definition];
  return createHash('sha256').update(JSON.stringify(key)).digest('base64url');
}

/**
 * The expansion of `valueSet` (a ValueSet resource: stored, shared or inline), from the cache or
 * computed and stored. Throws a FhirError (4xx OperationOutcome) when it cannot be complete: a
 * code system not loaded (422 not-found), more than `maxCodes` codes (422 too-costly), an
 * invalid definition or import (422). In a READ ONLY transaction an expansion not cached yet
 * throws NeedsWritableTransaction (FhirService runs the request again read-write, once), unless
 * `inMemoryWhenReadOnly`.
 */
export async function cachedExpansion(ctx: TerminologyContext, valueSet: JsonObject, params: ExpansionParams = {}): Promise<ValueSetExpansion> {
  const { store } = ctx;
  const fingerprint = expansionFingerprint(valueSet, params, await store.generations());
  const maxCodes = params.maxCodes ?? DEFAULT_MAX_CODES;
  const found = await store.findExpansion(fingerprint);
  // One stored under a larger limit is held to this one, as if computed now.
  if (found && found.total > maxCodes) throw tooCostly(maxCodes, 'ValueSet');
  if (found) return { id: found.id, total: found.total, fromCache: true, warnings: [] };
  // In a READ ONLY transaction, fail before computing: the rerun computes it once.
  const access = await store.expansionCacheAccess();
  if (access === 'read-only' && !params.inMemoryWhenReadOnly) throw new NeedsWritableTransaction('A ValueSet expansion is stored once, in a read-write transaction');
  const { codes, warnings } = await composeCodes(ctx, valueSet, { activeOnly: params.activeOnly === true, displayLanguage: params.displayLanguage, maxCodes });
  if (access !== 'read-write') return { codes, total: codes.length, fromCache: false, warnings };
  const saved = await store.saveExpansion(fingerprint, { url: text(valueSet.url), version: text(valueSet.version) }, codes);
  return { id: saved.id, total: saved.total, fromCache: false, warnings };
}

/** A page of an expansion in its order, narrowed by a text filter (each word starts a word of the display or code). */
export async function expansionPage(
  ctx: TerminologyContext,
  expansion: ValueSetExpansion,
  options: { text?: string; offset: number; count: number },
): Promise<{ codes: ExpansionCode[]; total: number }> {
  if (expansion.id !== undefined) return ctx.store.expansionPage(expansion.id, options);
  const matching = options.text ? (expansion.codes ?? []).filter(textMatcher(options.text)) : (expansion.codes ?? []);
  return { codes: matching.slice(options.offset, options.offset + options.count), total: matching.length };
}

/** The member with this code (and system, when given), or undefined. */
export async function expansionMember(ctx: TerminologyContext, expansion: ValueSetExpansion, system: string | undefined, code: string): Promise<ExpansionCode | undefined> {
  if (expansion.id !== undefined) return ctx.store.expansionContains(expansion.id, system, code);
  return expansion.codes?.find((c) => c.code === code && (system === undefined || c.system === system));
}

/**
 * The warnings a computed expansion of `valueSet` gave (codes listed from systems not loaded),
 * found again for a cached one: one look-up per listed system, imports followed once each.
 */
export async function expansionWarnings(ctx: TerminologyContext, valueSet: JsonObject): Promise<string[]> {
  const warnings: string[] = [];
  const seen = new Set<string>();
  const walk = async (vs: JsonObject, path: string): Promise<void> => {
    const compose = vs.compose as JsonObject | undefined;
    if (!compose || typeof compose !== 'object') return;
    for (const kind of ['include', 'exclude'] as const) {
      const parts = Array.isArray(compose[kind]) ? (compose[kind] as JsonObject[]) : [];
      for (const [i, part] of parts.entries()) {
        const system = text(part?.system);
        const version = text(part?.version);
        if (system && Array.isArray(part.concept) && part.concept.length > 0 && !(await completeVersion(ctx.store, system, version))) {
          warnings.push(`The code system ${version ? `${system}|${version}` : system} is not loaded: the codes listed in ${path}.compose.${kind}[${i}] are included as given, unverified`);
        }
        for (const canonical of Array.isArray(part?.valueSet) ? part.valueSet : []) {
          if (typeof canonical !== 'string' || seen.has(canonical)) continue;
          seen.add(canonical);
          const { url, version: v } = splitCanonical(canonical);
          const imported = await ctx.definitions.find('ValueSet', url, v);
          if (imported) await walk(imported, `ValueSet(${canonical})`);
        }
      }
    }
  };
  await walk(valueSet, 'ValueSet');
  return warnings;
}
