// JSON Patch body of the PATCH interaction (FHIR R4 http.html#patch, content type
// application/json-patch+json), i.e. RFC 6902 applied with fast-json-patch.
//
// Two classes of failure, kept apart on purpose:
//  - the patch document itself is malformed (not an array, unknown op, bad JSON Pointer,
//    missing from/value, prototype-polluting segments) -> 400 'invalid';
//  - a well-formed operation does not fit this resource (path absent for replace/remove,
//    array index out of range, failing `test`) -> 422 'processing' (http.html#patch).
// Both name the operation index in the OperationOutcome expression, e.g. operations[2].path.
// resourceType/id immutability is enforced by the interaction layer, not here.
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { FhirError, badRequest } from '../../core/errors.js';

const OPS: ReadonlySet<string> = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
const VALUE_OPS: ReadonlySet<string> = new Set(['add', 'replace', 'test']);
// Segments that could reach Object.prototype; never legitimate in a FHIR resource.
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
// fast-json-patch error names that mean "malformed operation" rather than "does not fit the document".
const MALFORMED_ERRORS: ReadonlySet<string> = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Applies an RFC 6902 JSON Patch to a copy of `resource` and returns the patched copy.
 * The input resource and the operations are never mutated (both are deep-cloned first).
 */
export function applyJsonPatch(resource: Record<string, unknown>, operations: unknown): Record<string, unknown> {
  const ops = validateOperations(operations);
  let doc: unknown = structuredClone(resource);
  ops.forEach((op, i) => {
    doc = applyOne(doc, op, i);
  });
  if (!isPlainObject(doc)) {
    throw new FhirError(422, {
      code: 'processing',
      diagnostics: 'JSON Patch result is not a JSON object (an operation replaced or removed the whole document)',
    });
  }
  return doc;
}

/** Structural validation of the whole patch document before anything is applied (400s). */
function validateOperations(operations: unknown): Operation[] {
  if (!Array.isArray(operations)) {
    throw badRequest('JSON Patch body must be a JSON array of operations (RFC 6902 section 3)');
  }
  operations.forEach((op, i) => validateOperation(op, i));
  // Clone so patched values never alias the request body.
  const ops = structuredClone(operations) as Operation[];
  // Then let fast-json-patch run its own structural validator (no document) as a backstop.
  const error = jsonpatch.validate(ops);
  if (error) {
    const index = typeof error.index === 'number' ? error.index : 0;
    throw badRequest(`JSON Patch operation ${index} is invalid: ${error.message}`, [`operations[${index}]`]);
  }
  return ops;
}

function validateOperation(op: unknown, i: number): void {
  const at = `operations[${i}]`;
  if (!isPlainObject(op)) throw badRequest(`JSON Patch operation ${i} is not a JSON object`, [at]);
  if (typeof op.op !== 'string' || !OPS.has(op.op)) {
    throw badRequest(
      `JSON Patch operation ${i} has invalid op ${JSON.stringify(op.op)}; expected one of ${[...OPS].join(', ')}`,
      [`${at}.op`],
    );
  }
  checkPointer(op.path, i, 'path');
  if (op.op === 'move' || op.op === 'copy') {
    checkPointer(op.from, i, 'from');
    // RFC 6902 4.4: a location cannot be moved into one of its own children.
    if (op.op === 'move' && (op.path as string).startsWith(`${op.from as string}/`)) {
      throw badRequest(`JSON Patch operation ${i}: 'from' must not be a proper prefix of 'path'`, [`${at}.from`]);
    }
  }
  if (VALUE_OPS.has(op.op) && !Object.hasOwn(op, 'value')) {
    throw badRequest(`JSON Patch operation ${i} (${op.op}) requires a 'value' member`, [`${at}.value`]);
  }
}

/** RFC 6901 JSON Pointer syntax, plus a ban on prototype-reaching segments. */
function checkPointer(pointer: unknown, i: number, member: 'path' | 'from'): void {
  const at = `operations[${i}].${member}`;
  if (typeof pointer !== 'string') throw badRequest(`JSON Patch operation ${i} requires a string '${member}'`, [at]);
  if (pointer !== '' && !pointer.startsWith('/')) {
    throw badRequest(`JSON Patch operation ${i}: '${member}' must be a JSON Pointer starting with '/'`, [at]);
  }
  if (/~[^01]|~$/.test(pointer)) {
    throw badRequest(`JSON Patch operation ${i}: '${member}' has an invalid '~' escape (only ~0 and ~1)`, [at]);
  }
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const bad = segments.find((s) => FORBIDDEN_SEGMENTS.has(s));
  if (bad !== undefined) {
    throw badRequest(`JSON Patch operation ${i}: '${member}' must not contain a '${bad}' segment`, [at]);
  }
}

/** Applies one operation with fast-json-patch's validation on; maps its errors to FhirErrors. */
function applyOne(doc: unknown, op: Operation, i: number): unknown {
  try {
    // validateOperation=true, mutateDocument=true (doc is our own clone), banPrototypeModifications=true
    return jsonpatch.applyOperation(doc, op, true, true, true, i).newDocument;
  } catch (err) {
    // The library reports validator failures with index 0, so the index is ours, not err.index.
    if (err instanceof jsonpatch.JsonPatchError) {
      const describe = `JSON Patch operation ${i} (${op.op} ${op.path})`;
      if (MALFORMED_ERRORS.has(err.name)) throw badRequest(`${describe} is invalid: ${err.message}`, [`operations[${i}]`]);
      throw new FhirError(422, {
        code: 'processing',
        diagnostics: `${describe} cannot be applied: ${err.message}`,
        expression: [`operations[${i}]${unappliableMember(err.name)}`],
      });
    }
    if (err instanceof TypeError && err.message.startsWith('JSON-Patch')) {
      throw badRequest(`JSON Patch operation ${i}: ${err.message}`, [`operations[${i}].path`]);
    }
    throw err;
  }
}

function unappliableMember(errorName: string): string {
  if (errorName === 'OPERATION_FROM_UNRESOLVABLE') return '.from';
  if (errorName === 'TEST_OPERATION_FAILED') return '.value';
  return '.path';
}
