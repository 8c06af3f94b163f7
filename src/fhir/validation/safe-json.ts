// Safe parsing of request bodies in the FHIR JSON format (FHIR R4 json.html, and the
// security notes in security.html#input). FHIR JSON is UTF-8 (a BOM may precede it),
// and nothing in a resource can legitimately contain NUL, nest hundreds of levels deep, or
// use JavaScript's prototype-related property names. Each of these is a cheap way to
// attack a server (prototype pollution, stack exhaustion, truncation in C-backed storage),
// so they are refused with a 400 OperationOutcome before any other code sees the body.
import { FhirError, type IssueType } from '../../core/errors.js';

export interface JsonLimits {
  /** Maximum nesting of objects + arrays; the root object counts as depth 1. */
  maxDepth: number;
}

// Names that reach Object.prototype or a constructor when code copies or merges objects.
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// fatal: invalid byte sequences throw instead of becoming U+FFFD; the default
// ignoreBOM:false makes the decoder strip one leading UTF-8 BOM, which FHIR tolerates.
const decoder = new TextDecoder('utf-8', { fatal: true });

function fail(code: IssueType, diagnostics: string, expression?: string): FhirError {
  return new FhirError(400, { code, diagnostics, expression: expression ? [expression] : undefined });
}

/** Raw request bytes → JSON value, or FhirError 400. Runs every check of assertSafeJsonValue. */
export function parseJsonBody(bytes: Buffer | Uint8Array, limits: JsonLimits): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw fail('invalid', 'Request body is not valid UTF-8');
  }
  // Only JSON whitespace counts as empty; stops at the first other character, so O(1) usually.
  if (!/[^ \t\n\r]/.test(text)) throw fail('invalid', 'Request body is empty');
  const nul = text.indexOf('\u0000');
  if (nul !== -1) throw fail('invalid', `Request body contains a NUL character at ${where(text, nul)}`);

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 parses iteratively today, but a RangeError from absurd nesting must still be a 400.
    if (err instanceof RangeError) {
      throw fail('structure', `JSON nesting is deeper than the limit of ${limits.maxDepth}`);
    }
    throw invalidJson(text, err);
  }
  assertSafeJsonValue(value, limits);
  return value;
}

function invalidJson(text: string, err: unknown): FhirError {
  const message = err instanceof Error ? err.message : String(err);
  const found = /at position (\d+)/.exec(message);
  let position: number;
  if (found) position = Number(found[1]);
  else if (/end of JSON input/.test(message)) position = text.length;
  else position = locateSyntaxError(text);
  // Keep V8's reason but not its echo of the body, which may be long or sensitive.
  const reason = message.replace(/, .*is not valid JSON$/s, '').replace(/( in JSON)? at position \d+.*$/s, '');
  return fail('structure', `Invalid JSON at ${where(text, position)}: ${reason}`);
}

/** "line L, column C (position P)" with 1-based line/column and 0-based UTF-16 position. */
function where(text: string, position: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${position - lineStart + 1} (position ${position})`;
}

/**
 * Offset of the first character where `text` stops being JSON. Used only when V8's message
 * carries no position (e.g. a bad literal such as `tru`); iterative, so deep input is fine.
 */
function locateSyntaxError(text: string): number {
  const ws = /[ \t\n\r]*/y;
  const scalar = /"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
  const closers: string[] = [];
  let i = 0;
  const skip = () => { ws.lastIndex = i; ws.test(text); i = ws.lastIndex; };
  for (;;) {
    skip(); // expecting a value (or, right after an opener, possibly its closer)
    const c = text[i];
    if (c === '{' || c === '[') {
      closers.push(c === '{' ? '}' : ']');
      i++;
      skip();
      if (text[i] === closers[closers.length - 1]) { closers.pop(); i++; }
      else if (c === '{') { if (!member()) return i; continue; }
      else continue;
    } else {
      scalar.lastIndex = i;
      if (!scalar.test(text)) return i;
      i = scalar.lastIndex;
    }
    // after a value: a comma, a closer, or the end
    for (;;) {
      skip();
      if (closers.length === 0) return i; // trailing content (or nothing found wrong)
      const top = closers[closers.length - 1];
      if (text[i] === top) { closers.pop(); i++; continue; }
      if (text[i] !== ',') return i;
      i++;
      if (top === '}' && !member()) return i;
      break;
    }
  }
  function member(): boolean {
    skip();
    scalar.lastIndex = i;
    if (text[i] !== '"' || !scalar.test(text)) return false;
    i = scalar.lastIndex;
    skip();
    if (text[i] !== ':') return false;
    i++;
    return true;
  }
}

interface Frame {
  node: unknown[] | Record<string, unknown>;
  keys: string[] | null; // null for arrays
  next: number; // index of the next child to visit
}

/**
 * Tree checks on an already-parsed value: nesting depth, forbidden keys, NUL in keys and
 * strings. One iterative depth-first pass; the frame stack doubles as the current path, so
 * nothing is allocated per leaf. `basePath` prefixes expressions (e.g. "Bundle.entry[2].resource").
 */
export function assertSafeJsonValue(value: unknown, limits: JsonLimits, basePath?: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw fail('invalid', 'String contains a NUL character', basePath);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const root = rootLabel(value, basePath);
  const stack: Frame[] = [];
  const enter = (node: object) => {
    if (stack.length + 1 > limits.maxDepth) {
      throw fail('structure', `JSON nesting is deeper than the limit of ${limits.maxDepth}`, pathOf(root, stack));
    }
    const keys = Array.isArray(node) ? null : Object.keys(node);
    stack.push({ node: node as Frame['node'], keys, next: 0 });
  };
  enter(value);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    let child: unknown;
    if (frame.keys === null) {
      const arr = frame.node as unknown[];
      if (frame.next >= arr.length) { stack.pop(); continue; }
      child = arr[frame.next++];
    } else {
      if (frame.next >= frame.keys.length) { stack.pop(); continue; }
      const key = frame.keys[frame.next++];
      if (FORBIDDEN_KEYS.has(key)) {
        throw fail('invalid', `Property name '${key}' is not allowed`, pathOf(root, stack));
      }
      if (key.includes('\u0000')) throw fail('invalid', 'Property name contains a NUL character', pathOf(root, stack));
      child = (frame.node as Record<string, unknown>)[key];
    }
    if (typeof child === 'string') {
      if (child.includes('\u0000')) throw fail('invalid', 'String contains a NUL character', pathOf(root, stack));
    } else if (child !== null && typeof child === 'object') {
      enter(child);
    }
  }
}

// Expressions start at the resource type when the root looks like a resource, FHIRPath-style.
function rootLabel(value: object, basePath?: string): string {
  if (basePath !== undefined) return basePath;
  const rt = (value as { resourceType?: unknown }).resourceType;
  return typeof rt === 'string' && /^[A-Z][A-Za-z]{0,63}$/.test(rt) ? rt : '';
}

/** Path of the child most recently taken from the top frame, e.g. "Patient.name[0].given". */
function pathOf(root: string, stack: Frame[]): string {
  let path = root;
  for (const frame of stack) {
    const index = frame.next - 1;
    if (index < 0) break; // frame just entered: the path ends at the frame itself
    if (frame.keys === null) path += `[${index}]`;
    else {
      const key = frame.keys[index];
      const name = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `\`${key.replace(/[`\\]/g, '\\$&').replace(/\u0000/g, '\\u0000')}\``;
      path += path === '' ? name : `.${name}`;
    }
  }
  return path === '' ? '$this' : path;
}
