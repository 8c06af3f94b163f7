// FHIRPath Patch body of the PATCH interaction (FHIR R4 fhirpatch.html, http.html#patch):
// a Parameters resource whose "operation" parameters (parts type, path, name, value, index,
// source, destination) are applied in order to a copy of the resource.
//
// Locating targets: paths are evaluated with fhirpath.js and its R4 model using
// resolveInternalTypes: false. fhirpath.js then returns ResourceNode objects carrying the parent
// node, the property name and the array index of each match, and for complex elements `data`
// is the very object inside the resource being evaluated (verified by identity in locate()).
// That gives the containing object + element name of any match - including after .where(),
// [n], first() - without splitting the expression text.
//
// Array or scalar for a new element comes from the R4 model (path2Repeating, following
// type2Parent for inherited elements such as extension); an element unknown to the model is
// created as a scalar. Values are not type-checked here: the interaction layer validates the
// patched resource.
//
// Unsupported (clear 422): primitive extensions (`_name` JSON companions) except on a scalar
// primitive that is deleted or replaced (the whole element, extensions included, goes), and paths
// that navigate into a primitive's id/extension (e.g. Patient.birthDate.extension).
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { FhirError, badRequest } from '../../core/errors.js';

type Json = Record<string, unknown>;
type OpType = 'add' | 'insert' | 'delete' | 'replace' | 'move';
type Evaluator = (resource: unknown) => unknown[];

const OP_TYPES: ReadonlySet<string> = new Set(['add', 'insert', 'delete', 'replace', 'move']);
const PART_NAMES: ReadonlySet<string> = new Set(['type', 'path', 'name', 'value', 'index', 'source', 'destination']);
const ELEMENT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
// Would reach Object.prototype when used as a property name.
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const VALUE_KEY = /^value[A-Z][A-Za-z0-9]*$/;

interface Part {
  part: Json;
  at: string;
}

interface PatchOperation {
  type: OpType;
  path: string;
  evaluate: Evaluator;
  parts: Map<string, Part>;
  at: string;
  name?: string;
  index?: number;
  source?: number;
  destination?: number;
}

/** A value to write: the JSON value, its primitive-extension companion, the value[x] type suffix. */
interface PatchValue {
  value: unknown;
  ext?: unknown;
  typeSuffix?: string;
}

/** The subset of fhirpath.js's ResourceNode used here. */
interface FpNode {
  data: unknown;
  parentResNode: FpNode | null;
  propName: string | null | undefined;
  index: number | null | undefined;
  path: string | null;
  fhirNodeDataType: string | null;
}

/** Where a matched element lives: container[key] (scalar) or container[key][index]. */
interface Slot {
  container: Json;
  key: string;
  index: number | null;
}

/**
 * Applies a FHIRPath Patch (Parameters resource) to a copy of `resource` and returns the copy.
 * The input resource and patch are never mutated.
 */
export function applyFhirPathPatch(resource: Record<string, unknown>, patch: unknown): Record<string, unknown> {
  const operations = parseParameters(patch);
  const working = structuredClone(resource);
  for (const op of operations) applyOperation(working, op);
  return working;
}

function applyOperation(root: Json, op: PatchOperation): void {
  switch (op.type) {
    case 'add':
      return applyAdd(root, op);
    case 'insert':
      return applyInsert(root, op);
    case 'delete':
      return applyDelete(root, op);
    case 'replace':
      return applyReplace(root, op);
    case 'move':
      return applyMove(root, op);
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing and validation of the Parameters resource (all failures 400 'invalid')

function parseParameters(patch: unknown): PatchOperation[] {
  if (!isPlainObject(patch) || patch.resourceType !== 'Parameters') {
    throw badRequest('A FHIRPath Patch must be a Parameters resource', ['Parameters']);
  }
  if (patch.parameter === undefined) return [];
  if (!Array.isArray(patch.parameter)) {
    throw badRequest('Parameters.parameter must be an array', ['Parameters.parameter']);
  }
  return patch.parameter.map((param, i) => parseOperation(param, `Parameters.parameter[${i}]`));
}

function parseOperation(param: unknown, at: string): PatchOperation {
  const parts = collectParts(param, at);
  const type = readString(parts, 'type', at);
  if (!OP_TYPES.has(type)) {
    throw badRequest(`Unknown FHIRPath Patch operation type '${type}'; expected add, insert, delete, replace or move`, [
      partAt(parts, 'type', at),
    ]);
  }
  const path = readString(parts, 'path', at);
  const evaluate = compilePath(path, partAt(parts, 'path', at));
  const op: PatchOperation = { type: type as OpType, path, evaluate, parts, at };
  if (op.type === 'add') op.name = readElementName(parts, at);
  if (op.type === 'insert') op.index = readIndex(parts, 'index', at);
  if (op.type === 'move') {
    op.source = readIndex(parts, 'source', at);
    op.destination = readIndex(parts, 'destination', at);
  }
  // Validate the value's structure now (so a malformed value is a 400 whatever the resource);
  // it is rebuilt against the target's model path when applied.
  if (op.type === 'add' || op.type === 'insert' || op.type === 'replace') {
    readValue(requirePart(parts, 'value', at), undefined);
  }
  return op;
}

function collectParts(param: unknown, at: string): Map<string, Part> {
  if (!isPlainObject(param)) throw badRequest('Each parameter must be an object', [at]);
  if (param.name !== 'operation') throw badRequest(`Parameter name must be 'operation'`, [`${at}.name`]);
  if (!Array.isArray(param.part)) throw badRequest('An operation parameter must have parts', [at]);
  const parts = new Map<string, Part>();
  param.part.forEach((part, j) => {
    const here = `${at}.part[${j}]`;
    if (!isPlainObject(part) || typeof part.name !== 'string') throw badRequest('Each part must have a name', [here]);
    if (!PART_NAMES.has(part.name)) throw badRequest(`Unknown operation part '${part.name}'`, [here]);
    if (parts.has(part.name)) throw badRequest(`Duplicate operation part '${part.name}'`, [here]);
    parts.set(part.name, { part, at: here });
  });
  return parts;
}

function requirePart(parts: Map<string, Part>, name: string, at: string): Part {
  const found = parts.get(name);
  if (!found) throw badRequest(`Operation is missing the '${name}' part`, [at]);
  return found;
}

function partAt(parts: Map<string, Part>, name: string, fallback: string): string {
  return parts.get(name)?.at ?? fallback;
}

function readString(parts: Map<string, Part>, name: string, at: string): string {
  const { part, at: here } = requirePart(parts, name, at);
  const value = part.valueString ?? part.valueCode;
  if (typeof value !== 'string' || value.trim() === '') {
    throw badRequest(`Part '${name}' must have a non-empty valueString (or valueCode)`, [here]);
  }
  return value;
}

function readIndex(parts: Map<string, Part>, name: string, at: string): number {
  const { part, at: here } = requirePart(parts, name, at);
  const value = part.valueInteger ?? part.valueUnsignedInt ?? part.valuePositiveInt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badRequest(`Part '${name}' must have a non-negative valueInteger`, [here]);
  }
  return value;
}

function readElementName(parts: Map<string, Part>, at: string): string {
  const name = readString(parts, 'name', at);
  checkElementName(name, partAt(parts, 'name', at));
  return name;
}

function checkElementName(name: unknown, at: string): asserts name is string {
  if (typeof name !== 'string' || !ELEMENT_NAME.test(name) || FORBIDDEN_NAMES.has(name)) {
    throw badRequest(`'${String(name)}' is not a valid element name`, [at]);
  }
}

function compilePath(path: string, at: string): Evaluator {
  try {
    return fhirpath.compile(path, r4, { resolveInternalTypes: false }) as Evaluator;
  } catch (err) {
    throw badRequest(`Invalid FHIRPath expression '${path}': ${errorMessage(err)}`, [at]);
  }
}

// ---------------------------------------------------------------------------------------------
// Values: a value[x] (or resource) member, or a tree of parts for complex/anonymous types

function readValue({ part, at }: Part, modelPath: string | undefined): PatchValue {
  const keys = Object.keys(part).filter((k) => VALUE_KEY.test(k) || k === 'resource');
  const hasParts = part.part !== undefined;
  if (keys.length + (hasParts ? 1 : 0) !== 1) {
    throw badRequest(`Part '${String(part.name)}' must have exactly one value[x], resource or nested part list`, [at]);
  }
  if (hasParts) return { value: buildFromParts(part.part, at, modelPath) };
  const key = keys[0];
  if (part[key] === null) throw badRequest(`Part '${String(part.name)}' has a null ${key}`, [at]);
  const ext = part[`_${key}`];
  return {
    value: structuredClone(part[key]),
    ext: ext === undefined ? undefined : structuredClone(ext),
    typeSuffix: key === 'resource' ? undefined : key.slice('value'.length),
  };
}

/** Builds a complex value from parts: each part names a child element (fhirpatch.html). */
function buildFromParts(parts: unknown, at: string, modelPath: string | undefined): Json {
  if (!Array.isArray(parts) || parts.length === 0) throw badRequest('A complex value needs a non-empty part list', [at]);
  const out: Json = {};
  parts.forEach((part, j) => {
    const here = `${at}.part[${j}]`;
    if (!isPlainObject(part)) throw badRequest('Each part must be an object', [here]);
    checkElementName(part.name, here);
    const element = modelPath ? lookupElement(modelPath, part.name) : undefined;
    const value = readValue({ part, at: here }, element && childModelPath(element));
    const key = elementKey(part.name, element, value);
    setChild(out, key, value, isRepeating(element), here);
  });
  return out;
}

/** Sets out[key]; a repeating element (per model) or a repeated part name makes an array. */
function setChild(out: Json, key: string, value: PatchValue, repeating: boolean, at: string): void {
  const existing = out[key];
  if (existing !== undefined || repeating) {
    if (value.ext !== undefined) throw primitiveExtensionUnsupported(key, at);
    if (Array.isArray(existing)) existing.push(value.value);
    else out[key] = existing === undefined ? [value.value] : [existing, value.value];
    return;
  }
  out[key] = value.value;
  if (value.ext !== undefined) out[`_${key}`] = value.ext;
}

// ---------------------------------------------------------------------------------------------
// R4 model look-ups (fhirpath.js's model data). Own-property checks only: the maps are plain
// objects and element names like 'constructor' must not hit Object.prototype.

function own<T>(map: Record<string, T>, key: string | undefined): T | undefined {
  return key !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Model path of child `name` under `modelPath`, following base types for inherited elements. */
function lookupElement(modelPath: string, name: string): string | undefined {
  const seen = new Set<string>();
  let base: string | undefined = modelPath;
  while (base && !seen.has(base)) {
    seen.add(base);
    const path = `${base}.${name}`;
    if (own(r4.path2Type, path) || own(r4.choiceTypePaths, path) || own(r4.pathsDefinedElsewhere, path)) return path;
    // Backbone elements (paths with dots) inherit from BackboneElement; types from type2Parent.
    base = base.includes('.') ? 'BackboneElement' : own(r4.type2Parent, base);
  }
  return undefined;
}

function isRepeating(element: string | undefined): boolean {
  if (!element) return false;
  return Boolean(own(r4.path2Repeating, element) ?? own(r4.path2Repeating, own(r4.pathsDefinedElsewhere, element)));
}

/** The model path used for an element's own children: its type, or itself for backbone elements. */
function childModelPath(element: string): string {
  const target = own(r4.pathsDefinedElsewhere, element) ?? element;
  return own(r4.path2TypeWithoutElements, target) ?? target;
}

/** JSON key for a new element: choice elements named without a type take the value[x] suffix. */
function elementKey(name: string, element: string | undefined, value: PatchValue): string {
  if (element && own(r4.choiceTypePaths, element) && value.typeSuffix) return name + value.typeSuffix;
  return name;
}

// ---------------------------------------------------------------------------------------------
// Evaluating paths and locating matches

function evaluateNodes(root: Json, op: PatchOperation): FpNode[] {
  let results: unknown[];
  try {
    results = op.evaluate(root);
  } catch (err) {
    // Unknown functions / variables are errors in the expression; anything else is about the data.
    const message = `FHIRPath '${op.path}' could not be evaluated: ${errorMessage(err)}`;
    const inExpression = /^Not implemented|undefined environment variable/.test(errorMessage(err));
    if (inExpression) throw badRequest(message, [pathAt(op)]);
    throw unprocessable(message, pathAt(op));
  }
  return results.map((result) => {
    if (!isNode(result) || rootOf(result).data !== root) {
      throw unprocessable(`FHIRPath '${op.path}' must select elements of the resource being patched`, pathAt(op));
    }
    return result;
  });
}

function evaluateSingle(root: Json, op: PatchOperation, allowNone: boolean): FpNode | undefined {
  const nodes = evaluateNodes(root, op);
  if (nodes.length === 0 && !allowNone) throw unprocessable(`No content found at '${op.path}' to ${op.type}`, pathAt(op));
  if (nodes.length > 1) {
    throw unprocessable(
      `FHIRPath '${op.path}' matches ${nodes.length} elements; ${op.type} requires it to match exactly one`,
      pathAt(op),
    );
  }
  return nodes[0];
}

function isNode(value: unknown): value is FpNode {
  return typeof value === 'object' && value !== null && 'parentResNode' in value && 'data' in value;
}

function rootOf(node: FpNode): FpNode {
  let current = node;
  while (current.parentResNode) current = current.parentResNode;
  return current;
}

/** Finds the object and key (and index) holding a matched node. */
function locate(node: FpNode, op: PatchOperation): Slot {
  const parent = node.parentResNode;
  if (!parent) throw unprocessable(`Cannot ${op.type} the resource itself ('${op.path}')`, pathAt(op));
  if (!isPlainObject(parent.data) || node.data === null || node.data === undefined) {
    // The match lives in a `_name` JSON companion (primitive id/extension), which we don't edit.
    throw unprocessable(
      `FHIRPath '${op.path}' selects the id/extension of a primitive value; patching primitive extensions is not supported`,
      pathAt(op),
    );
  }
  const container = parent.data;
  const key = resolveKey(container, node);
  const index = typeof node.index === 'number' ? node.index : null;
  const held = key === undefined ? undefined : index === null ? container[key] : asArray(container[key])?.[index];
  // For complex values fhirpath.js hands back the very object: insist on identity.
  if (key === undefined || held === undefined || (isPlainObject(node.data) && held !== node.data)) {
    throw unprocessable(`Could not locate the element selected by '${op.path}' in the resource`, pathAt(op));
  }
  return { container, key, index };
}

/** fhirpath.js names choice elements without their type ('deceased' for 'deceasedBoolean'). */
function resolveKey(container: Json, node: FpNode): string | undefined {
  const name = node.propName;
  if (!name) return undefined;
  if (Object.hasOwn(container, name)) return name;
  const type = node.fhirNodeDataType;
  const typed = type ? name + type.charAt(0).toUpperCase() + type.slice(1) : undefined;
  if (typed && Object.hasOwn(container, typed)) return typed;
  return Object.keys(container).find((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)));
}

/** Path that must select (elements of) one list: returns the list and its slot. */
function locateList(root: Json, op: PatchOperation): { slot: Slot; list: unknown[]; node: FpNode } {
  const nodes = evaluateNodes(root, op);
  if (nodes.length === 0) throw unprocessable(`No content found at '${op.path}' to ${op.type}`, pathAt(op));
  const slots = nodes.map((node) => locate(node, op));
  const [slot] = slots;
  const list = asArray(slot.container[slot.key]);
  if (!list || slots.some((s) => s.index === null || s.container !== slot.container || s.key !== slot.key)) {
    throw unprocessable(`FHIRPath '${op.path}' must select a single list (a repeating element)`, pathAt(op));
  }
  if (Object.hasOwn(slot.container, `_${slot.key}`)) throw primitiveExtensionUnsupported(slot.key, pathAt(op));
  return { slot, list, node: nodes[0] };
}

// ---------------------------------------------------------------------------------------------
// The five operations

/** add: append `value` as child `name` of the single element at `path`. */
function applyAdd(root: Json, op: PatchOperation): void {
  const node = evaluateSingle(root, op, false) as FpNode;
  if (!isPlainObject(node.data)) {
    throw unprocessable(`FHIRPath '${op.path}' selects a primitive; elements can only be added to complex elements`, pathAt(op));
  }
  const container = node.data;
  const element = node.path ? lookupElement(node.path, op.name as string) : undefined;
  const value = readValue(requirePart(op.parts, 'value', op.at), element && childModelPath(element));
  const key = elementKey(op.name as string, element, value);
  const existing = container[key];
  if (Object.hasOwn(container, `_${key}`)) throw primitiveExtensionUnsupported(key, partAt(op.parts, 'name', op.at));
  if (existing !== undefined && !Array.isArray(existing)) {
    throw unprocessable(
      `Element '${key}' already exists at '${op.path}' and does not repeat; use replace`,
      partAt(op.parts, 'name', op.at),
    );
  }
  setChild(container, key, value, Array.isArray(existing) || isRepeating(element), partAt(op.parts, 'value', op.at));
}

/** insert: put `value` into the list at `path` at position `index` (0 .. length). */
function applyInsert(root: Json, op: PatchOperation): void {
  const { list, node, slot } = locateList(root, op);
  const index = op.index as number;
  if (index > list.length) {
    throw unprocessable(`Index ${index} is beyond the end of '${op.path}' (${list.length} items)`, partAt(op.parts, 'index', op.at));
  }
  const value = readValue(requirePart(op.parts, 'value', op.at), node.path ?? undefined);
  if (value.ext !== undefined) throw primitiveExtensionUnsupported(slot.key, partAt(op.parts, 'value', op.at));
  list.splice(index, 0, value.value);
}

/** delete: remove the single element at `path`; nothing matched is not an error (fhirpatch.html). */
function applyDelete(root: Json, op: PatchOperation): void {
  const node = evaluateSingle(root, op, true);
  if (!node) return;
  removeSlot(locate(node, op), op);
  pruneEmptyAncestors(node.parentResNode, op);
}

/** replace: swap the value of the single element at `path`. */
function applyReplace(root: Json, op: PatchOperation): void {
  const node = evaluateSingle(root, op, false) as FpNode;
  const slot = locate(node, op);
  const value = readValue(requirePart(op.parts, 'value', op.at), node.path ?? undefined);
  const { container, key, index } = slot;
  if (index !== null) {
    if (Object.hasOwn(container, `_${key}`) || value.ext !== undefined) throw primitiveExtensionUnsupported(key, pathAt(op));
    (container[key] as unknown[])[index] = value.value;
    return;
  }
  // A choice element ('deceasedBoolean') may change type: the new value[x] decides the key.
  const base = node.propName as string;
  const newKey = key !== base && value.typeSuffix ? base + value.typeSuffix : key;
  // The element is replaced as a whole, so its old primitive extensions go too.
  delete container[`_${key}`];
  if (newKey !== key) delete container[key];
  container[newKey] = value.value;
  if (value.ext !== undefined) container[`_${newKey}`] = value.ext;
}

/** move: within the list at `path`, take the item at `source` and re-insert it at `destination`. */
function applyMove(root: Json, op: PatchOperation): void {
  const { list } = locateList(root, op);
  const source = op.source as number;
  const destination = op.destination as number;
  if (source >= list.length) {
    throw unprocessable(`Source index ${source} is out of range for '${op.path}' (${list.length} items)`, partAt(op.parts, 'source', op.at));
  }
  if (destination >= list.length) {
    throw unprocessable(
      `Destination index ${destination} is out of range for '${op.path}' (${list.length} items)`,
      partAt(op.parts, 'destination', op.at),
    );
  }
  const [item] = list.splice(source, 1);
  list.splice(destination, 0, item);
}

function removeSlot({ container, key, index }: Slot, op: PatchOperation): void {
  if (index === null) {
    delete container[key];
    delete container[`_${key}`];
    return;
  }
  if (Object.hasOwn(container, `_${key}`)) throw primitiveExtensionUnsupported(key, pathAt(op));
  const list = container[key] as unknown[];
  list.splice(index, 1);
  if (list.length === 0) delete container[key]; // FHIR JSON has no empty arrays
}

/** FHIR JSON has no empty objects: drop containers emptied by a delete, up to (not incl.) the root. */
function pruneEmptyAncestors(start: FpNode | null, op: PatchOperation): void {
  let node = start;
  while (node?.parentResNode && isPlainObject(node.data) && Object.keys(node.data).length === 0) {
    removeSlot(locate(node, op), op);
    node = node.parentResNode;
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function pathAt(op: PatchOperation): string {
  return partAt(op.parts, 'path', op.at);
}

function unprocessable(diagnostics: string, expression: string): FhirError {
  return new FhirError(422, { code: 'processing', diagnostics, expression: [expression] });
}

function primitiveExtensionUnsupported(key: string, at: string): FhirError {
  return unprocessable(
    `Element '${key}' carries primitive extensions ('_${key}'); this operation on it is not supported (only scalar primitives with extensions can be deleted or replaced)`,
    at,
  );
}

/** JSON objects only: fhirpath.js wraps numbers/dates in class instances (FP_Decimal...) that aren't. */
function isPlainObject(value: unknown): value is Json {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
