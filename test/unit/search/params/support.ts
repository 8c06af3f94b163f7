// Fixtures for the parameter-type module tests (src/search/params/*): a minimal
// SearchParamDef, a bind collector, and an assertion for 400s naming the parameter.
import assert from 'node:assert/strict';
import { FhirError } from '../../../../src/core/errors.js';
import type { SearchParamDef, SearchParamType, SqlBinds } from '../../../../src/search/types.js';

export function paramDef(code: string, type: SearchParamType, targets: string[] = []): SearchParamDef {
  return { code, type, url: `http://example.org/sp/${code}`, resourceType: 'Patient', expression: '', targets, extract: () => [] };
}

export class TestBinds implements SqlBinds {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Asserts a FhirError 400 whose single issue names `expression` (and, given, has `code`). */
export function assertBadRequest(fn: () => unknown, expression: string, diagnostics?: RegExp, code = 'invalid'): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FhirError, `expected FhirError, got ${String(error)}`);
    assert.equal(error.status, 400);
    const [issue] = error.outcome.issue;
    assert.equal(issue.code, code);
    assert.deepEqual(issue.expression, [expression]);
    if (diagnostics) assert.match(issue.diagnostics ?? '', diagnostics);
    return true;
  });
}

/** Asserts that none of `secrets` occurs in the SQL text (they must travel as binds). */
export function assertOnlyPlaceholders(sql: string, secrets: string[]): void {
  for (const secret of secrets) assert.ok(!sql.includes(secret), `SQL must not contain ${JSON.stringify(secret)}: ${sql}`);
}
