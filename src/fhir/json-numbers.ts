// Decimal precision preservation for FHIR JSON. FHIR R4 datatypes.html#decimal: "0.010 is
// regarded as different to 0.01", so a server must give decimals back as they were sent. JSON.parse
// turns `1.00` into 1 and JSON.stringify writes it back as `1`. Parsed resources keep plain JS
// numbers (validation and patch need real numbers); alongside them we remember, by JSON Pointer
// (RFC 6901), only the original lexemes that JSON.stringify would not reproduce, and put those
// back when serializing.

/** JSON Pointer (e.g. `/component/0/valueQuantity/value`) → original number lexeme. */
export type NumberLexemes = ReadonlyMap<string, string>;

// A number token that JSON.stringify may write differently: an exponent (`1E3`), a fraction ending
// in 0 (`1.50`), `-0`, a value below 1e-6 (`0.0000001` is written `1e-7`), or 16+ digits (beyond
// double precision; 1e21 and up are written `1e+21`). Any other token has at most 15 significant
// digits and no such form, and a double gives those back unchanged (DBL_DIG is 15), so skipping
// them gives no false negatives. The boundaries (before: start, whitespace, `:`, `,`, `[`; after:
// end, whitespace, `,`, `]`, `}`) match every JSON number. Ids, UUIDs and dates inside strings
// then rarely match. A match inside a string only costs a scan.
const CANDIDATE = new RegExp(
  String.raw`(?<![^\s:,[])` +
    String.raw`(?:-0|-?(?:\d+(?:\.\d+)?[eE][+-]?\d+|\d+\.\d*0|0\.0{6}\d*|(?=(?:\d\.?){16})\d+(?:\.\d+)?))` +
    String.raw`(?![^\s,\]}])`,
);

/**
 * Records the numbers in `text` (valid JSON) whose lexeme differs from what JSON.stringify
 * writes for its value. Returns undefined when there are none, the usual case.
 */
export function captureNumberLexemes(text: string): NumberLexemes | undefined {
  if (!CANDIDATE.test(text)) return undefined;
  const found = scanNumbers(text);
  return found.size === 0 ? undefined : found;
}

/** Open containers during the scan; key offsets are decoded only when a number is recorded. */
interface Frames {
  isArray: boolean[];
  index: number[];
  keyStart: number[];
  keyEnd: number[];
}

// One pass without recursion: each open container is a frame, and the pointer is built only
// for numbers that are recorded, so the loop allocates nothing for plain text.
function scanNumbers(text: string): Map<string, string> {
  const found = new Map<string, string>();
  const frames: Frames = { isArray: [], index: [], keyStart: [], keyEnd: [] };
  let depth = 0;
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      if (expectKey) {
        frames.keyStart[depth - 1] = i;
        frames.keyEnd[depth - 1] = end;
        expectKey = false;
      }
      i = end;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const end = numberEnd(text, i);
      const lexeme = text.slice(i, end);
      if (String(Number(lexeme)) !== lexeme) found.set(pointer(text, frames, depth), lexeme);
      i = end;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      frames.isArray[depth] = c === 0x5b;
      frames.index[depth] = 0;
      depth++;
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      if (frames.isArray[depth - 1]) frames.index[depth - 1]++;
      else expectKey = true;
    } else if (c === 0x3a /* : */) {
      expectKey = false;
    }
    i++; // whitespace and the letters of true/false/null need nothing
  }
  return found;
}

/** Offset just past the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote === -1) return text.length;
    // The quote is escaped when an odd number of backslashes precede it.
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Offset just past the number token starting at `start`. */
function numberEnd(text: string, start: number): number {
  let i = start + 1;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const numeric =
      (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
    if (!numeric) break;
  }
  return i;
}

function pointer(text: string, frames: Frames, depth: number): string {
  let path = '';
  for (let d = 0; d < depth; d++) {
    if (frames.isArray[d]) {
      path += `/${frames.index[d]}`;
    } else {
      const raw = text.slice(frames.keyStart[d], frames.keyEnd[d]);
      const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      path += `/${escapeSegment(key)}`;
    }
  }
  return path;
}

function escapeSegment(key: string): string {
  if (!key.includes('~') && !key.includes('/')) return key;
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The recorded pointers as a tree keyed by unescaped segment, so the walk builds no paths. */
interface PathNode {
  lexeme?: string;
  children?: Map<string, PathNode>;
}

/**
 * JSON.stringify(value), except that a number at a recorded path is written with its original
 * lexeme when the lexeme still denotes that exact value (a value changed since parsing is written
 * as usual; Object.is, so 0 is not written `-0`). Paths go by key name, so reordered keys keep
 * their lexemes. An out-of-range lexeme such as `1e400` (parsed as Infinity) is written back as
 * sent rather than as JSON.stringify's `null`.
 */
export function stringifyPreservingNumbers(value: unknown, lexemes: NumberLexemes | undefined): string {
  if (lexemes === undefined || lexemes.size === 0) return JSON.stringify(value);
  // Like JSON.stringify, gives undefined for undefined, a function or a symbol.
  return serialize(value, pathTree(lexemes), new Set()) as string;
}

function pathTree(lexemes: NumberLexemes): PathNode {
  const root: PathNode = {};
  for (const [path, lexeme] of lexemes) {
    let node = root;
    if (path !== '') {
      for (const segment of path.slice(1).split('/')) {
        const key = segment.includes('~') ? segment.replace(/~1/g, '/').replace(/~0/g, '~') : segment;
        node.children ??= new Map();
        let child = node.children.get(key);
        if (child === undefined) node.children.set(key, (child = {}));
        node = child;
      }
    }
    node.lexeme = lexeme;
  }
  return root;
}

// Walks only containers on the way to a recorded number; everything else (including values with
// toJSON and boxed primitives) goes to JSON.stringify, which is correct and fast for the subtree.
// `ancestors` reproduces JSON.stringify's TypeError for circular structures.
function serialize(value: unknown, node: PathNode | undefined, ancestors: Set<object>): string | undefined {
  if (node === undefined) return plain(value);
  if (typeof value === 'number') {
    const lexeme = node.lexeme;
    return lexeme !== undefined && Object.is(Number(lexeme), value) ? lexeme : plain(value);
  }
  const children = node.children;
  if (children === undefined || typeof value !== 'object' || value === null || isOpaque(value)) {
    return plain(value);
  }
  if (ancestors.has(value)) throw new TypeError('Converting circular structure to JSON');
  ancestors.add(value);
  try {
    return Array.isArray(value)
      ? serializeArray(value, children, ancestors)
      : serializeObject(value as Record<string, unknown>, children, ancestors);
  } finally {
    ancestors.delete(value);
  }
}

// Characters JSON.stringify escapes (lone surrogates among them); such strings go to it.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(value), skipping its per-call cost for the common primitives. */
function plain(value: unknown): string | undefined {
  if (typeof value === 'string') return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return JSON.stringify(value);
}

function isOpaque(value: object): boolean {
  return (
    typeof (value as { toJSON?: unknown }).toJSON === 'function' ||
    value instanceof Number ||
    value instanceof String ||
    value instanceof Boolean
  );
}

function serializeArray(array: readonly unknown[], children: Map<string, PathNode>, ancestors: Set<object>): string {
  const parts: string[] = [];
  for (let i = 0; i < array.length; i++) {
    parts.push(serialize(array[i], children.get(String(i)), ancestors) ?? 'null');
  }
  return `[${parts.join(',')}]`;
}

function serializeObject(
  object: Record<string, unknown>,
  children: Map<string, PathNode>,
  ancestors: Set<object>,
): string {
  const parts: string[] = [];
  for (const key of Object.keys(object)) {
    const text = serialize(object[key], children.get(key), ancestors);
    if (text !== undefined) parts.push(`${plain(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}
