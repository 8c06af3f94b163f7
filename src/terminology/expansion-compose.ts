// ValueSet.compose to the list of codes it defines (FHIR R4 valueset.html#compose): the union of
// the includes minus the union of the excludes. An include (or exclude) is its system part
// (expansion-system.ts) intersected with every ValueSet it imports (compose.include.valueSet);
// imports expand recursively, with a guard against cycles. A ValueSet without compose but with
// an expansion is its expansion (valueset.html#expansion).
import type { JsonObject } from '../core/types.js';
import type { ExpansionCode } from '../storage/terminology-store.js';
import { splitCanonical, type TerminologyContext } from './definitions.js';
import { designationIn } from './expansion-text.js';
import { importCycle, invalidDefinition, tooCostly, unknownImport } from './expansion-problems.js';
import { systemPart } from './expansion-system.js';

export interface ComposeOptions {
  activeOnly: boolean;
  displayLanguage?: string;
  /** Most codes one expansion may hold. */
  maxCodes: number;
}

export interface ComposedCodes {
  codes: ExpansionCode[];
  warnings: string[];
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Codes are one member per system and code (a second version of the same code adds nothing). */
const keyOf = (c: Pick<ExpansionCode, 'system' | 'code'>) => `${c.system}\u0000${c.code}`;

/** The canonical a ValueSet is known by in cycle messages: url|version, url, or its id. */
export function canonicalOf(valueSet: JsonObject): string {
  const url = text(valueSet.url);
  const version = text(valueSet.version);
  return url ? (version ? `${url}|${version}` : url) : `ValueSet/${text(valueSet.id) ?? '(inline)'}`;
}

class Composer {
  readonly warnings: string[] = [];
  /** Canonical urls being expanded, outermost first (the cycle guard). */
  private readonly stack: string[] = [];

  constructor(
    private readonly ctx: TerminologyContext,
    private readonly options: ComposeOptions,
  ) {}

  async expand(valueSet: JsonObject, path: string): Promise<ExpansionCode[]> {
    const url = text(valueSet.url);
    if (url) this.stack.push(url);
    try {
      const compose = valueSet.compose;
      if (isObject(compose)) return await this.compose(compose, `${path}.compose`);
      if (isObject(valueSet.expansion)) return this.given(valueSet.expansion, `${path}.expansion`);
      throw invalidDefinition('The value set has neither compose nor expansion', path);
    } finally {
      if (url) this.stack.pop();
    }
  }

  private async compose(compose: JsonObject, path: string): Promise<ExpansionCode[]> {
    const activeOnly = this.options.activeOnly || compose.inactive === false;
    const members = new Map<string, ExpansionCode>();
    for (const [i, include] of objects(compose.include).entries()) {
      for (const code of await this.part(include, `${path}.include[${i}]`, activeOnly)) {
        const key = keyOf(code);
        if (members.has(key)) continue;
        members.set(key, code);
        if (members.size > this.options.maxCodes) throw tooCostly(this.options.maxCodes, `${path}.include[${i}]`);
      }
    }
    for (const [i, exclude] of objects(compose.exclude).entries()) {
      if (members.size === 0) break;
      // Inactive codes are excluded too: an exclude is evaluated whole.
      for (const code of await this.part(exclude, `${path}.exclude[${i}]`, false)) members.delete(keyOf(code));
    }
    return [...members.values()];
  }

  /** One include or exclude: its system part intersected with each imported value set. */
  private async part(include: JsonObject, path: string, activeOnly: boolean): Promise<ExpansionCode[]> {
    const system = text(include.system);
    const imports = Array.isArray(include.valueSet) ? include.valueSet : [];
    if (!system && imports.length === 0) throw invalidDefinition('An include or exclude needs a system or a valueSet (vsd-1)', path);
    if (!system && (include.concept !== undefined || include.filter !== undefined)) throw invalidDefinition('concept and filter need a system (vsd-2)', path);
    const { maxCodes, displayLanguage } = this.options;
    let codes = system
      ? await systemPart(this.ctx.store, include, { activeOnly, displayLanguage, cap: maxCodes, path, warnings: this.warnings })
      : undefined;
    for (const [j, canonical] of imports.entries()) {
      const where = `${path}.valueSet[${j}]`;
      if (typeof canonical !== 'string' || canonical === '') throw invalidDefinition('An imported value set must be a canonical url', where);
      const imported = await this.imported(canonical, where);
      if (codes === undefined) codes = activeOnly ? imported.filter((c) => !c.inactive) : imported;
      else {
        const keys = new Set(imported.map(keyOf));
        codes = codes.filter((c) => keys.has(keyOf(c)));
      }
    }
    return codes ?? [];
  }

  private async imported(canonical: string, path: string): Promise<ExpansionCode[]> {
    const { url, version } = splitCanonical(canonical);
    if (this.stack.includes(url)) throw importCycle([...this.stack.slice(this.stack.indexOf(url)), url], path);
    const valueSet = await this.ctx.definitions.find('ValueSet', url, version);
    if (!valueSet) throw unknownImport(canonical, path);
    return this.expand(valueSet, `ValueSet(${canonical})`);
  }

  /** An expansion given in the resource (expansion.contains, nested ones flattened). */
  private given(expansion: JsonObject, path: string): ExpansionCode[] {
    const out = new Map<string, ExpansionCode>();
    const walk = (contains: unknown) => {
      for (const c of objects(contains)) {
        const system = text(c.system);
        const code = text(c.code);
        if (system && code && !(this.options.activeOnly && c.inactive === true)) {
          const designations = objects(c.designation).flatMap((d) => (text(d.value) ? [{ value: d.value as string, ...(text(d.language) ? { language: d.language as string } : {}) }] : []));
          const display = designationIn(designations, this.options.displayLanguage) ?? text(c.display);
          const member: ExpansionCode = { system, ...(text(c.version) ? { version: c.version as string } : {}), code, ...(display ? { display } : {}), ...(c.inactive === true ? { inactive: true } : {}) };
          if (!out.has(keyOf(member))) out.set(keyOf(member), member);
          if (out.size > this.options.maxCodes) throw tooCostly(this.options.maxCodes, path);
        }
        walk(c.contains);
      }
    };
    walk(expansion.contains);
    return [...out.values()];
  }
}

/** The codes `valueSet` defines, computed now (no cache: see expand.ts cachedExpansion). */
export async function composeCodes(ctx: TerminologyContext, valueSet: JsonObject, options: ComposeOptions): Promise<ComposedCodes> {
  const composer = new Composer(ctx, options);
  const codes = await composer.expand(valueSet, 'ValueSet');
  return { codes, warnings: [...new Set(composer.warnings)] };
}
