// Property-based fuzz of every client input (issue 9 §5; FHIR R4 search.html, http.html):
// fast-check generators of requests that mix valid-looking values with hostile ones, and the
// checks every answer must pass: no 5xx (not even inside a batch-response entry), every 4xx an
// OperationOutcome, and stored data unchanged. Shared by test/e2e/fuzz.test.ts (bounded, in CI)
// and bench/fuzz.ts (FUZZ_MINUTES against a server of its own).
import fc from 'fast-check';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import type { SearchParamDef } from '../../src/search/types.js';

/** The types the fuzz searches; the seed data below gives each a few rows. */
export const FUZZ_TYPES = ['Patient', 'Observation', 'Encounter', 'MedicationRequest', 'Location', 'Organization', 'Condition'] as const;

export interface FuzzRequest {
  method: string;
  /** Relative to the tenant base, e.g. `Patient?name=x` or `` (the base itself). */
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** True when the request may change stored data (a batch with write entries). */
  mayWrite?: boolean;
}

// ---------------------------------------------------------------------------------------
// Values

const LONE_SURROGATE = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', 'a\ud83d', '\ude00b');
const HOSTILE_TEXT = fc.constantFrom(
  '\u0000', 'a\u0000b', '', ' ', '\t\n', '\\', '\\,', '\\|', '\\$', '|', '||', '$', ',', ',,', ':', '*', '..', '../..', '"', "'", ';',
  '--', '/*', '%', '%%', '%zz', '%00', '%C3%28', '%ED%A0%80', '%C0%80', '%FF', '\u202e', '\ufeff', '\uffff', '😀', 'é', 'İ', 'ß',
  'null', 'undefined', 'NaN', 'Infinity', '-Infinity', 'true', '[]', '{}', '__proto__', 'constructor', "' OR 1=1 --", '$1', '::text',
);
const HUGE_NUMBER = fc.constantFrom(
  '1e309', '-1e309', '1e-400', '9'.repeat(400), `0.${'0'.repeat(400)}1`, '1.7976931348623157e308', '-0', '0e0', '1e2147483648',
  '2147483648', '9223372036854775808', '-9223372036854775809', '1.', '.1', '1e', '0x10', '1_000', '١٢٣',
);
const LONG = fc.integer({ min: 200, max: 20_000 }).chain((n) => fc.constantFrom('x', 'é', '😀', ',', '\\', '|', '9').map((c) => c.repeat(n)));
const UNICODE = fc.string({ unit: 'binary', maxLength: 12 });
const SURROGATES = fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 3 });

/** Anything a client might type: mostly short, sometimes hostile. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 3, arbitrary: HOSTILE_TEXT },
  { weight: 1, arbitrary: LONE_SURROGATE },
  { weight: 1, arbitrary: SURROGATES },
  { weight: 1, arbitrary: HUGE_NUMBER },
  { weight: 1, arbitrary: LONG },
  { weight: 2, arbitrary: UNICODE },
);

/** `value` with one hostile character slipped in somewhere: the likeliest way past a validator. */
const spiked = (value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(value, fc.constantFrom('\u0000', '\u0000', '\u0000', '\ud800', '\udc00', '\\', ',', '|', '$', '%', '%00', '\u0001', '\uffff'), fc.nat()).map(([v, c, at]) => {
    const i = v.length === 0 ? 0 : at % (v.length + 1);
    return v.slice(0, i) + c + v.slice(i);
  });

const PREFIXES = ['', '', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'zz', 'EQ'];
const prefix = fc.constantFrom(...PREFIXES);
const number = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: false }).map(String),
  fc.constantFrom('0', '1', '1.0', '100', '5.4', '-3', '1.50', '2e3', '1e-3'),
  HUGE_NUMBER,
);
const date = fc.oneof(
  fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2024', '2024-02', '2024-02-29', '2023-02-29', '2024-13-01', '2024-00-10', '2024-01-32', '2024-01-01T25:00:00Z', '2024-01-01T10:00',
    '2024-01-01T10:00:00', '2024-01-01T10:00:00.123456789+14:00', '2024-01-01T10:00:00-23:59', '0000', '0000-01-01', '10000-01-01',
    '99999', '-2024', '+275760-09-13T00:00:00.000Z', '1970-01-01T00:00:00Z', 'today', '2024-01-01T10:00:60Z', '2024-W01',
  ),
);
const code = fc.oneof(fc.constantFrom('8867-4', '29463-7', 'male', 'female', 'final', 'active', 'kg', 'mg', 'finished'), anyText);
const system = fc.oneof(fc.constantFrom('http://loinc.org', 'http://unitsofmeasure.org', 'urn:oid:1.2.3', 'http://hl7.org/fhir/sid/us-ssn', ''), anyText);
const token = fc.oneof(code, fc.tuple(system, code).map(([s, c]) => `${s}|${c}`), code.map((c) => `|${c}`), system.map((s) => `${s}|`));
const quantity = fc.oneof(
  fc.tuple(prefix, number).map(([p, n]) => p + n),
  fc.tuple(prefix, number, system, code).map(([p, n, s, c]) => `${p}${n}|${s}|${c}`),
  fc.tuple(prefix, number, code).map(([p, n, c]) => `${p}${n}||${c}`),
);
const VALID_IDS = fc.constantFrom('fz-p1', 'fz-o1', 'fz-e1', 'missing', 'a', 'A.b-9', 'x'.repeat(64), 'x'.repeat(65));
const id = fc.oneof(VALID_IDS, anyText, spiked(VALID_IDS));
const typeName = fc.oneof(fc.constantFrom(...FUZZ_TYPES, 'Resource', 'DomainResource', 'Bundle', 'AuditEvent', 'patient', 'NoSuchType'), anyText);
const reference = fc.oneof(
  id,
  fc.tuple(typeName, id).map(([t, i]) => `${t}/${i}`),
  fc.tuple(typeName, id).map(([t, i]) => `http://example.org/fhir/${t}/${i}`),
  fc.tuple(typeName, id, fc.nat(5)).map(([t, i, v]) => `${t}/${i}/_history/${v}`),
);
const uri = fc.oneof(fc.webUrl(), fc.constantFrom('http://hl7.org/fhir', 'urn:uuid:0', 'http://a/b|1.0', 'mailto:x'), anyText);

/** A value for a parameter of `type`: valid-looking for that type about half the time. */
function valueFor(def: SearchParamDef | undefined): fc.Arbitrary<string> {
  const one = (() => {
    switch (def?.type) {
      case 'number':
        return fc.tuple(prefix, number).map(([p, n]) => p + n);
      case 'date':
        return fc.tuple(prefix, date).map(([p, d]) => p + d);
      case 'quantity':
        return quantity;
      case 'token':
        return token;
      case 'reference':
        return reference;
      case 'uri':
        return uri;
      case 'composite':
        return fc.array(fc.oneof(token, quantity, date, anyText), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('$'));
      case 'special':
        return fc.oneof(
          fc.tuple(number, number, number, fc.constantFrom('km', 'mi', '[mi_i]', 'x', '')).map((parts) => parts.join('|')),
          anyText,
        );
      default:
        return fc.oneof(fc.constantFrom('Smith', 'Fuzz', 'a', 'é', 'Müller'), anyText);
    }
  })();
  // Several values (OR) now and then.
  return fc.oneof({ weight: 4, arbitrary: fc.oneof({ weight: 2, arbitrary: one }, { weight: 1, arbitrary: anyText }, { weight: 2, arbitrary: spiked(one) }) }, { weight: 1, arbitrary: fc.array(fc.oneof(one, anyText), { minLength: 2, maxLength: 4 }).map((v) => v.join(',')) });
}

const MODIFIERS = [
  'exact', 'contains', 'missing', 'not', 'text', 'above', 'below', 'in', 'not-in', 'identifier', 'of-type', 'code-text', 'iterate',
  'Patient', 'Organization', 'Practitioner', 'NoSuchType', '', 'EXACT', 'not:not',
];
const modifier = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.constantFrom(...MODIFIERS) }, { weight: 1, arbitrary: anyText });

// ---------------------------------------------------------------------------------------
// Parameters

/** The search parameters the fuzz draws from, per type, from the server's own registry. */
export function fuzzRegistry(): Map<string, SearchParamDef[]> {
  const registry = createSearchRegistry();
  return new Map(FUZZ_TYPES.map((type) => [type, [...registry.forType(type).values()]]));
}

type Param = [name: string, value: string];

/** Percent-encodes, except now and then: raw `%` sequences and reserved characters reach the parser as typed. */
const encodeArb = (text: string): fc.Arbitrary<string> =>
  fc.constantFrom<'enc' | 'raw'>('enc', 'enc', 'enc', 'raw').map((how) => (how === 'enc' ? encodeURIComponent(safeForEncode(text)) : rawForUrl(text)));
/** encodeURIComponent throws on lone surrogates: send the UTF-8 bytes a careless client might. */
const safeForEncode = (text: string): string => text.replace(/[\ud800-\udfff]/g, (c) => (/[\ud800-\udbff][\udc00-\udfff]/.test(c) ? c : '\ufffd'));
/** What can go into a URL unencoded: everything but the characters fetch or HTTP would refuse. */
const rawForUrl = (text: string): string => safeForEncode(text).replace(/[\u0000-\u0020\u007f#&=+\s]/g, (c) => encodeURIComponent(c));

function paramFor(defs: SearchParamDef[]): fc.Arbitrary<Param> {
  const def = fc.constantFrom(...defs);
  const plain = fc.tuple(def, modifier).chain(([d, m]) => valueFor(d).map((v): Param => [m === undefined ? d.code : `${d.code}:${m}`, v]));
  const common = fc.oneof(
    fc.tuple(fc.constantFrom('_id', '_id:not', '_id:exact'), fc.array(id, { minLength: 1, maxLength: 3 })).map(([n, ids]): Param => [n, ids.join(',')]),
    fc.tuple(prefix, date).map(([p, d]): Param => ['_lastUpdated', p + d]),
    fc.array(fc.tuple(fc.constantFrom('', '-', '--'), fc.oneof(def.map((d) => d.code), fc.constantFrom('_id', '_lastUpdated', '_score'), anyText)), { minLength: 1, maxLength: 3 })
      .map((keys): Param => ['_sort', keys.map(([sign, k]) => sign + k).join(',')]),
    fc.oneof(fc.nat(2000).map(String), number, anyText).map((v): Param => ['_count', v]),
    fc.tuple(fc.constantFrom('_include', '_revinclude', '_include:iterate', '_revinclude:iterate', '_include:recurse', '_include:bad'), typeName, fc.oneof(def.map((d) => d.code), anyText), fc.option(typeName))
      .map(([n, t, c, target]): Param => [n, target === null ? `${t}:${c}` : `${t}:${c}:${target}`]),
    fc.constantFrom('_include', '_revinclude').map((n): Param => [n, '*']),
    fc.oneof(fc.constantFrom('true', 'false', 'text', 'data', 'count', 'TRUE'), anyText).map((v): Param => ['_summary', v]),
    fc.array(fc.oneof(fc.constantFrom('id', 'name', 'subject', 'meta', 'text', 'code.coding'), anyText), { minLength: 1, maxLength: 3 }).map((e): Param => ['_elements', e.join(',')]),
    fc.oneof(fc.constantFrom('none', 'estimate', 'accurate'), anyText).map((v): Param => ['_total', v]),
    fc.tuple(typeName, fc.constantFrom('patient', 'subject', 'encounter', 'organization', 'code'), fc.constantFrom('code', '_id', 'status', 'name', 'date'), anyText)
      .chain(([t, r, p]) => valueFor(undefined).map((v): Param => [`_has:${t}:${r}:${p}`, v])),
    fc.tuple(fc.constantFrom('subject', 'patient', 'organization', 'encounter', 'general-practitioner', 'part-of'), fc.option(typeName), fc.constantFrom('name', '_id', 'identifier', 'birthdate', 'subject.name', 'organization.name', 'code'))
      .chain(([r, t, rest]) => valueFor(undefined).map((v): Param => [`${r}${t === null ? '' : `:${t}`}.${rest}`, v])),
    cursor.map((c): Param => ['_page', c]),
    fc.oneof(fc.constantFrom('_text', '_content', '_list', '_filter', '_query', '_format', '_pretty', '_explain', '_type', '_contained'), anyText)
      .chain((n) => valueFor(undefined).map((v): Param => [n, v])),
  );
  return fc.oneof({ weight: 1, arbitrary: plain }, { weight: 1, arbitrary: common });
}

/** A paging cursor: base64url JSON arrays of random values, keyset-shaped or not; or junk. */
const cursorValue = fc.oneof(anyText, fc.double().map((n) => n), fc.constant(null), fc.integer(), fc.constantFrom(2 ** 31, 2 ** 53, -1, 0, 1e308), date, typeName, id);
const cursor: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom('>', '<', '=', ''), fc.array(cursorValue, { maxLength: 5 })).map(([m, v]) => b64(JSON.stringify([m, ...v]))),
  fc.tuple(date, typeName, id, fc.oneof(fc.integer(), fc.constantFrom(2 ** 40, 1.5, -1))).map((v) => b64(JSON.stringify(v))),
  fc.jsonValue().map((v) => b64(JSON.stringify(v))),
  anyText,
);
const b64 = (text: string) => Buffer.from(text.replace(/[\ud800-\udfff]/g, '?')).toString('base64url');

// ---------------------------------------------------------------------------------------
// Requests

function queryString(params: fc.Arbitrary<Param>): fc.Arbitrary<string> {
  return fc
    .array(params, { minLength: 0, maxLength: 4 })
    .chain((list) => (list.length === 0 ? fc.constant('') : fc.tuple(...list.map(([n, v]) => fc.tuple(encodeArb(n), encodeArb(v)).map(([a, b]) => `${a}=${b}`))).map((p) => p.join('&'))));
}

/** Relative read-only urls: type, system and compartment searches, reads, history. */
export function readUrl(params: Map<string, SearchParamDef[]>): fc.Arbitrary<string> {
  const type = fc.constantFrom(...FUZZ_TYPES);
  const search = type.chain((t) => queryString(paramFor(params.get(t) ?? [])).map((q) => `${t}?${q}`));
  const system = fc
    .tuple(fc.array(fc.oneof(typeName, fc.constantFrom(...FUZZ_TYPES)), { minLength: 0, maxLength: 3 }), queryString(paramFor(params.get('Patient') ?? [])))
    .map(([types, q]) => `?${types.length ? `_type=${encodeURIComponent(safeForEncode(types.join(',')))}&` : ''}${q}`);
  const compartment = fc.tuple(id, type).chain(([i, t]) => queryString(paramFor(params.get(t) ?? [])).map((q) => `Patient/${encodeURIComponent(safeForEncode(i))}/${t}?${q}`));
  const historyParam = fc.oneof(
    fc.tuple(prefix, date).map(([, d]): Param => ['_since', d]),
    fc.tuple(prefix, date).map(([p, d]): Param => ['_at', p + d]),
    fc.oneof(fc.nat(2000).map(String), anyText).map((v): Param => ['_count', v]),
    cursor.map((c): Param => ['_page', c]),
    fc.tuple(anyText, anyText).map(([n, v]): Param => [n, v]),
  );
  const history = fc
    .tuple(fc.constantFrom('_history', 'Patient/_history', 'Patient/fz-p1/_history', 'Observation/_history'), queryString(historyParam))
    .map(([p, q]) => `${p}?${q}`);
  const read = fc.tuple(typeName, id, fc.option(fc.oneof(fc.nat(3).map(String), anyText))).map(
    ([t, i, v]) => `${encodeURIComponent(safeForEncode(t))}/${encodeURIComponent(safeForEncode(i))}${v === null ? '' : `/_history/${encodeURIComponent(safeForEncode(v))}`}`,
  );
  return fc.oneof({ weight: 6, arbitrary: search }, { weight: 1, arbitrary: system }, { weight: 1, arbitrary: compartment }, { weight: 2, arbitrary: history }, { weight: 1, arbitrary: read });
}

/** A resource body: a valid-looking one, a mutated one, or any JSON. */
const resource = fc.oneof(
  fc.tuple(fc.constantFrom(...FUZZ_TYPES), fc.option(id), anyText).map(([t, i, text]) => ({ resourceType: t, ...(i === null ? {} : { id: i }), ...(t === 'Patient' ? { name: [{ family: text }] } : {}) })),
  fc.tuple(fc.constantFrom(...FUZZ_TYPES), fc.dictionary(anyText, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })).map(([t, extra]) => ({ resourceType: t, ...extra })),
  fc.jsonValue({ maxDepth: 3 }),
);

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'get', ''];

/**
 * One Bundle entry. In a batch, writes may only create, or touch ids no seeded resource has, so
 * the seeded data stays as it was; a transaction's writes may go anywhere (it is rolled back).
 */
function entry(params: Map<string, SearchParamDef[]>, kind: 'batch' | 'transaction'): fc.Arbitrary<unknown> {
  const writeUrl = kind === 'batch'
    ? fc.oneof(fc.constantFrom(...FUZZ_TYPES), fc.tuple(fc.constantFrom(...FUZZ_TYPES), fc.nat(99)).map(([t, n]) => `${t}/scratch-${n}`))
    : fc.oneof(fc.constantFrom(...FUZZ_TYPES), readUrl(params));
  const request = fc.constantFrom(...METHODS).chain((method) =>
    fc.record({
      method: fc.oneof({ weight: 9, arbitrary: fc.constant(method) }, { weight: 1, arbitrary: fc.jsonValue() }),
      url: fc.oneof({ weight: 9, arbitrary: ['GET', 'HEAD', 'get', ''].includes(method) ? readUrl(params) : writeUrl }, { weight: 1, arbitrary: fc.jsonValue() }),
      ...(kind === 'transaction' ? { ifNoneExist: fc.option(readUrl(params).map((u) => u.replace(/^[^?]*\?/, '')), { nil: undefined }), ifMatch: fc.option(fc.oneof(fc.constantFrom('W/"1"', 'W/"x"'), anyText), { nil: undefined }) } : {}),
    }, { requiredKeys: ['method', 'url'] }),
  );
  const patchBody = fc.oneof(
    fc.array(fc.record({ op: fc.constantFrom('add', 'replace', 'remove', 'test', 'move', 'bad'), path: fc.oneof(fc.constantFrom('/active', '/name/0/family', '/id', '/resourceType', '/__proto__/x'), anyText), value: fc.jsonValue({ maxDepth: 2 }) }), { maxLength: 3 }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  return fc.record(
    {
      fullUrl: fc.oneof(fc.uuid().map((u) => `urn:uuid:${u}`), fc.constantFrom('urn:oid:1.2.3', 'http://example.org/fhir/Patient/1'), anyText),
      request,
      resource: fc.oneof(resource, patchBody.map((ops) => ({ resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(ops)).toString('base64') }))),
    },
    { requiredKeys: ['request'] },
  );
}

/** A batch or transaction Bundle, posted to the base. Transactions end with a failing read, so they roll back. */
export function bundleRequest(params: Map<string, SearchParamDef[]>): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom<'batch' | 'transaction'>('batch', 'transaction').chain((kind) =>
    fc.array(entry(params, kind), { minLength: 0, maxLength: 5 }).map((entries): FuzzRequest => {
      const all = kind === 'transaction' ? [...entries, { request: { method: 'GET', url: 'Patient/fz-never-there' } }] : entries;
      const body = JSON.stringify({ resourceType: 'Bundle', type: kind, entry: all });
      return { method: 'POST', path: '', body, headers: { 'content-type': 'application/fhir+json' }, mayWrite: kind === 'batch' };
    }),
  );
}

/** Every kind of request the fuzz makes. */
export function fuzzRequest(params: Map<string, SearchParamDef[]>): fc.Arbitrary<FuzzRequest> {
  const get = readUrl(params).map((path): FuzzRequest => ({ method: 'GET', path }));
  const postSearch = fc.tuple(fc.constantFrom(...FUZZ_TYPES), readUrl(params)).map(([t, u]): FuzzRequest => ({
    method: 'POST',
    path: `${t}/_search`,
    body: u.replace(/^[^?]*\?/, ''),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  }));
  return fc.oneof({ weight: 6, arbitrary: get }, { weight: 1, arbitrary: postSearch }, { weight: 3, arbitrary: bundleRequest(params) });
}

// ---------------------------------------------------------------------------------------
// Running and checking

export interface FuzzReply {
  status: number;
  contentType: string;
  text: string;
}

export async function sendFuzz(base: string, request: FuzzRequest): Promise<FuzzReply> {
  const url = request.path === '' ? base : request.path.startsWith('?') ? `${base}${request.path}` : `${base}/${request.path}`;
  const res = await fetch(url, { method: request.method, headers: { accept: 'application/fhir+json', ...request.headers }, body: request.body });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** Why the reply breaks a property, or undefined when it passes. */
export function violation(reply: FuzzReply): string | undefined {
  if (reply.status >= 500) return `status ${reply.status}`;
  // 431: Node's HTTP parser refuses a request line and headers over 16 KB before any Hearth code
  // runs, with no body; giving it an OperationOutcome needs a clientError handler in server.ts.
  if (reply.status >= 400 && reply.status !== 431) {
    const body = parse(reply.text);
    if (!/^application\/fhir\+json/.test(reply.contentType) || body?.resourceType !== 'OperationOutcome' || !Array.isArray(body.issue) || body.issue.length === 0) {
      return `${reply.status} without an OperationOutcome`;
    }
  }
  const body = parse(reply.text);
  if (body?.resourceType === 'Bundle' && Array.isArray(body.entry)) {
    for (const [i, e] of (body.entry as { response?: { status?: string } }[]).entries()) {
      if (/^5/.test(e.response?.status ?? '')) return `Bundle.entry[${i}] answered ${e.response?.status}`;
    }
  }
  return undefined;
}

/** True when a batch-response reports a successful write (the only way the fuzz may change data). */
export function wroteSomething(request: FuzzRequest, reply: FuzzReply): boolean {
  if (!request.mayWrite || reply.status !== 200) return false;
  const body = parse(reply.text);
  return Array.isArray(body?.entry) && (body.entry as { response?: { status?: string } }[]).some((e) => /^20[01]/.test(e.response?.status ?? ''));
}

function parse(text: string): any {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** A short, printable description of a request for failure reports. */
export function describeRequest(request: FuzzRequest): string {
  const text = `${request.method} /${request.path}${request.body ? ` ${request.body}` : ''}`;
  return JSON.stringify(text.length > 1500 ? `${text.slice(0, 1500)}…` : text);
}

// ---------------------------------------------------------------------------------------
// The tenant: seeded, and fingerprinted

/** A few linked resources of every fuzzed type, so searches, chains and includes find rows. */
export function seedBundle(): unknown {
  const put = (resource: Record<string, unknown>) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      put({ resourceType: 'Organization', id: 'fz-org1', name: 'Fuzz Clinic', identifier: [{ system: 'urn:oid:1.2.3', value: 'org-1' }] }),
      put({ resourceType: 'Location', id: 'fz-loc1', name: 'Ward', position: { latitude: 42.25, longitude: -83.7 } }),
      put({ resourceType: 'Patient', id: 'fz-p1', name: [{ family: 'Fuzz', given: ['Ada'] }], gender: 'female', birthDate: '1970-01-01', managingOrganization: { reference: 'Organization/fz-org1' } }),
      put({ resourceType: 'Patient', id: 'fz-p2', name: [{ family: 'Müller' }], gender: 'male', birthDate: '2001-06' }),
      put({ resourceType: 'Encounter', id: 'fz-e1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/fz-p1' }, period: { start: '2024-01-01T10:00:00Z' } }),
      put({
        resourceType: 'Observation', id: 'fz-o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: 'Patient/fz-p1' },
        encounter: { reference: 'Encounter/fz-e1' }, effectiveDateTime: '2024-01-01T10:00:00Z', valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      }),
      put({
        resourceType: 'Observation', id: 'fz-o2', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, subject: { reference: 'Patient/fz-p2' },
        component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
      }),
      put({ resourceType: 'Condition', id: 'fz-c1', subject: { reference: 'Patient/fz-p1' }, code: { text: 'hypertension' }, recordedDate: '2020-05-05' }),
      put({ resourceType: 'MedicationRequest', id: 'fz-m1', status: 'active', intent: 'order', subject: { reference: 'Patient/fz-p1' }, medicationCodeableConcept: { text: 'aspirin' }, authoredOn: '2024-02-02' }),
    ],
  };
}

export async function seedTenant(base: string): Promise<void> {
  const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(seedBundle()) });
  if (res.status !== 200) throw new Error(`seeding the fuzz tenant failed: ${res.status} ${await res.text()}`);
}

const SEEDED = (seedBundle() as { entry: { request: { url: string } }[] }).entry.map((e) => e.request.url.split('/')[1]);

export interface Fingerprint {
  /** The newest version in the tenant's system history: any write adds a newer one. */
  newest: string;
  /** Every seeded resource as stored now: no fuzz request may change them. */
  seeded: string;
}

export async function fingerprint(base: string): Promise<Fingerprint> {
  const history = (await (await fetch(`${base}/_history?_count=1`)).json()) as { entry?: { fullUrl: string; response: unknown }[] };
  const seeded = (await (await fetch(`${base}?_type=${FUZZ_TYPES.join(',')}&_id=${SEEDED.join(',')}&_count=100`)).json()) as { entry?: { fullUrl: string; resource: unknown }[] };
  const entries = (seeded.entry ?? []).map((e) => JSON.stringify([e.fullUrl, e.resource])).sort();
  if (entries.length !== SEEDED.length) throw new Error(`the fuzz tenant holds ${entries.length} of its ${SEEDED.length} seeded resources`);
  return { newest: JSON.stringify(history.entry?.[0] ? [history.entry[0].fullUrl, history.entry[0].response] : null), seeded: entries.join('\n') };
}
