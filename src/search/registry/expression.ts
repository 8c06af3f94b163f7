// Per-type FHIRPath of a SearchParameter (FHIR R4 searchparameter.html#expression,
// search.html#parameters). One R4 SearchParameter often serves many base types with a single
// union expression (`clinical-patient` is a 30-branch union); evaluating the whole union for
// every resource wastes most of the work (ARCHITECTURE.md "Index extraction cost"). This
// module splits an expression on its top-level `|` and keeps the branches of one type.

/** Resource types that do not derive from DomainResource (R4 resourcelist.html). */
const NOT_DOMAIN_RESOURCES: ReadonlySet<string> = new Set(['Binary', 'Bundle', 'Parameters']);

/**
 * Calls `visit(index, depth)` for each character outside string literals and
 * backtick-delimited identifiers; depth counts open `(` and `[`.
 */
export function scan(expression: string, visit: (index: number, depth: number) => void): void {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (quote) {
      if (ch === '\\') i++; // escaped character inside a literal
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '`') {
      quote = ch;
      continue;
    }
    if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    visit(i, depth);
  }
}

/** Splits on `|` at nesting depth 0 (the union operator binds loosest in these expressions). */
export function splitTopLevel(expression: string): string[] {
  const parts: string[] = [];
  let start = 0;
  scan(expression, (i, depth) => {
    if (depth === 0 && expression[i] === '|') {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  });
  parts.push(expression.slice(start).trim());
  return parts.filter((p) => p !== '');
}

/** Removes parentheses that enclose the whole text: `(a as B)` -> `a as B`, not `(a).b`. */
export function stripWrappingParens(text: string): string {
  let current = text.trim();
  while (current.startsWith('(') && current.endsWith(')')) {
    let closesAt = -1;
    scan(current, (i, depth) => {
      if (closesAt < 0 && depth === 0 && current[i] === ')') closesAt = i;
    });
    if (closesAt !== current.length - 1) break;
    current = current.slice(1, -1).trim();
  }
  return current;
}

/** The branches of `expression` as a flat list, wrapping parentheses removed, nested unions split. */
export function branches(expression: string): string[] {
  const out: string[] = [];
  for (const part of splitTopLevel(expression)) {
    const inner = stripWrappingParens(part);
    const nested = splitTopLevel(inner);
    if (nested.length > 1) out.push(...branches(inner));
    else out.push(inner);
  }
  return out;
}

/**
 * The branch rewritten for `resourceType` when it applies to that type, else undefined.
 * `Resource.x` / `DomainResource.x` (the common parameters) are rewritten to `<Type>.x`
 * so that every kept branch starts with the concrete type.
 */
export function branchForType(branch: string, resourceType: string): string | undefined {
  // `(Type.x as T).y` keeps its parentheses: the type name follows them.
  const match = /^(\(*)([A-Za-z][A-Za-z0-9]*)(?=$|[.\s)])/.exec(branch);
  if (!match) return undefined;
  const [whole, parens, root] = match;
  if (root === resourceType) return branch;
  // A branch without a type (R4 InsurancePlan-name is `name | alias`) navigates from the
  // resource itself, so it applies to every base of the parameter.
  if (/^[a-z]/.test(root)) return `${parens}${resourceType}.${branch.slice(parens.length)}`;
  if (root === 'Resource' || (root === 'DomainResource' && !NOT_DOMAIN_RESOURCES.has(resourceType))) {
    return parens + resourceType + branch.slice(whole.length);
  }
  return undefined;
}

/**
 * The branches of a SearchParameter expression that apply to `resourceType`, joined by
 * ' | ', or undefined when none does (the parameter has no expression for that type).
 */
export function splitForType(expression: string, resourceType: string): string | undefined {
  const kept: string[] = [];
  for (const branch of branches(expression)) {
    const forType = branchForType(branch, resourceType);
    if (forType !== undefined && !kept.includes(forType)) kept.push(forType);
  }
  return kept.length > 0 ? kept.join(' | ') : undefined;
}
