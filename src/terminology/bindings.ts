// Binding checks (FHIR R4 terminologies.html#strength, issue 12 "Binding checks on write"):
// the Coding and CodeableConcept elements of a resource whose binding is `required` must hold a
// code of the bound ValueSet; `extensible` ones should, and are reported as warnings when asked
// ($validate, Prefer: return=OperationOutcome). Which elements are bound comes from
// src/core/generated/bindings.json (scripts/generate-bindings.ts); `code` elements are left to the
// R4 JSON Schema, which enumerates their required codes.
//
// What cannot be judged is not an error unless configured: a ValueSet that is not known or
// cannot be expanded (a code system it draws from is not loaded), or a coding whose system is
// not loaded and not one the ValueSet draws from. Membership is read from the ValueSet's cached
// expansion; small expansions are kept in memory per tenant and terminology generation, so a
// repeated check costs the one query that reads the generations.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FhirError, type IssueInput } from '../core/errors.js';
import { projectRoot } from '../core/project-root.js';
import type { JsonObject } from '../core/types.js';
import type { TerminologyGenerations } from '../storage/terminology-store.js';
import { splitCanonical, type TerminologyContext } from './definitions.js';
import { cachedExpansion, expansionMember, expansionPage, type ValueSetExpansion } from './expand.js';

export interface BindingEntry {
  path: string;
  strength: 'required' | 'extensible';
  valueSet: string;
  type: 'Coding' | 'CodeableConcept';
}

export interface BindingCheckOptions {
  /** Also check extensible bindings (their findings are warnings). */
  extensible: boolean;
  /** A coding whose system is not loaded fails a required binding ('fail') or is let through ('ignore', the default). */
  unknownSystems: 'ignore' | 'fail';
}

let bindingsByType: Readonly<Record<string, readonly BindingEntry[]>> | undefined;

/** The bound coded elements of a resource type (none for most). */
export function boundElements(type: string): readonly BindingEntry[] {
  bindingsByType ??= JSON.parse(readFileSync(join(projectRoot(), 'src/core/generated/bindings.json'), 'utf8')) as Record<string, BindingEntry[]>;
  return Object.hasOwn(bindingsByType, type) ? bindingsByType[type] : [];
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values at a dot path, each with its FHIRPath-style expression (`Type.a[1].b`). */
export function valuesAt(resource: JsonObject, type: string, path: string): { value: JsonObject; expression: string }[] {
  let current: { value: unknown; expression: string }[] = [{ value: resource, expression: type }];
  for (const name of path.split('.')) {
    const next: { value: unknown; expression: string }[] = [];
    for (const { value, expression } of current) {
      if (!isObject(value) || value[name] === undefined) continue;
      const child = value[name];
      if (Array.isArray(child)) child.forEach((item, i) => next.push({ value: item, expression: `${expression}.${name}[${i}]` }));
      else next.push({ value: child, expression: `${expression}.${name}` });
    }
    current = next;
  }
  return current.filter((c): c is { value: JsonObject; expression: string } => isObject(c.value));
}

interface Coding {
  system?: string;
  code?: string;
  version?: string;
}

function codingsOf(value: JsonObject, type: BindingEntry['type']): Coding[] {
  const list = type === 'Coding' ? [value] : Array.isArray(value.coding) ? value.coding.filter(isObject) : [];
  return list
    .map((c) => ({ system: typeof c.system === 'string' ? c.system : undefined, code: typeof c.code === 'string' ? c.code : undefined }))
    .filter((c) => c.code !== undefined);
}

/** What a ValueSet's expansion says about codes, or why it cannot say. */
type Membership =
  | { kind: 'known'; systems: ReadonlySet<string>; has(system: string | undefined, code: string): Promise<boolean> }
  | { kind: 'unknown'; why: string };

/** Expansions up to this size are kept in memory; larger ones are asked per code. */
const IN_MEMORY_CODES = 10_000;
/** Memberships kept (per tenant, ValueSet and generations); the oldest go first. */
const CACHED_MEMBERSHIPS = 500;

const memberships = new Map<string, Membership>();

function remember(key: string, membership: Membership): Membership {
  if (memberships.size >= CACHED_MEMBERSHIPS) memberships.delete(memberships.keys().next().value as string);
  memberships.set(key, membership);
  return membership;
}

async function membershipOf(ctx: TerminologyContext, tenantId: string, canonical: string, generations: TerminologyGenerations): Promise<Membership> {
  const key = JSON.stringify([tenantId, canonical, generations.shared, generations.tenant]);
  const known = memberships.get(key);
  if (known) return known;
  const { url, version } = splitCanonical(canonical);
  const valueSet = await ctx.definitions.find('ValueSet', url, version);
  if (!valueSet) return remember(key, { kind: 'unknown', why: `the ValueSet ${canonical} is not known to this server` });
  let expansion: ValueSetExpansion;
  try {
    expansion = await cachedExpansion(ctx, valueSet);
  } catch (error) {
    if (error instanceof FhirError && error.status < 500) return remember(key, { kind: 'unknown', why: `the ValueSet ${canonical} cannot be expanded here (${error.message})` });
    throw error;
  }
  if (expansion.total <= IN_MEMORY_CODES) {
    const codes = expansion.codes ?? (await expansionPage(ctx, expansion, { offset: 0, count: expansion.total })).codes;
    const members = new Set(codes.map((c) => `${c.system}|${c.code}`));
    const byCode = new Set(codes.map((c) => c.code));
    const systems = new Set(codes.map((c) => c.system));
    return remember(key, { kind: 'known', systems, has: async (system, code) => (system === undefined ? byCode.has(code) : members.has(`${system}|${code}`)) });
  }
  // Large: ask the stored expansion per code (not remembered: it names this transaction's rows).
  const systems = new Set<string>(
    ((valueSet.compose as JsonObject | undefined)?.include as JsonObject[] | undefined)?.map((i) => i.system).filter((s): s is string => typeof s === 'string') ?? [],
  );
  return { kind: 'known', systems, has: async (system, code) => (await expansionMember(ctx, expansion, system, code)) !== undefined };
}

/**
 * The binding findings for `resource`: errors for required bindings it breaks, warnings for
 * extensible ones (when asked) and for what could not be judged (when reporting extensible).
 */
export async function checkBindings(ctx: TerminologyContext, tenantId: string, type: string, resource: JsonObject, options: BindingCheckOptions): Promise<IssueInput[]> {
  const bound = boundElements(type).filter((b) => b.strength === 'required' || options.extensible);
  const present = bound.flatMap((binding) => valuesAt(resource, type, binding.path).map((at) => ({ binding, ...at })));
  if (present.length === 0) return [];
  const generations = await ctx.store.generations();
  const issues: IssueInput[] = [];
  const report = (severity: 'error' | 'warning', diagnostics: string, expression: string) => issues.push({ severity, code: 'code-invalid', diagnostics, expression: [expression] });
  for (const { binding, value, expression } of present) {
    const severity = binding.strength === 'required' ? 'error' : 'warning';
    const codings = codingsOf(value, binding.type);
    if (codings.length === 0) {
      if (binding.strength === 'required') report('error', `No code is given, and the ${binding.strength} binding to ${binding.valueSet} needs one`, expression);
      continue;
    }
    const membership = await membershipOf(ctx, tenantId, binding.valueSet, generations);
    if (membership.kind === 'unknown') {
      if (options.extensible) report('warning', `The ${binding.strength} binding was not checked: ${membership.why}`, expression);
      continue;
    }
    let member = false;
    const unjudged: string[] = [];
    for (const coding of codings) {
      if (await membership.has(coding.system, coding.code as string)) {
        member = true;
        break;
      }
      if (coding.system && !membership.systems.has(coding.system) && (await ctx.store.codeSystems(coding.system)).length === 0) unjudged.push(coding.system);
    }
    if (member) continue;
    const shown = codings.map((c) => (c.system ? `${c.system}|${c.code}` : `'${c.code}'`)).join(', ');
    if (unjudged.length === codings.length && !(binding.strength === 'required' && options.unknownSystems === 'fail')) {
      if (options.extensible) report('warning', `The code ${shown} is from a code system not loaded here (${unjudged.join(', ')}), so its ${binding.strength} binding to ${binding.valueSet} was not checked`, expression);
      continue;
    }
    report(severity, `The code ${shown} is not in the value set ${binding.valueSet} (${binding.strength} binding)`, expression);
  }
  return issues;
}
