// End-to-end: hostile and malformed input against a real server on real PostgreSQL
// (FHIR R4 http.html: status codes and OperationOutcome; json.html; security.html#input).
// Plain fetch/node:http so the raw bytes on the wire are under the test's control. Every
// refusal is checked for its status AND OperationOutcome, and for having stored nothing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { FHIR_JSON } from '../support/http.js';
import { prng } from '../support/prng.js';
import { useTestServer } from '../support/test-server.js';

const JSON_HEADERS = { 'content-type': FHIR_JSON };

interface Issue {
  severity: string;
  code: string;
  diagnostics?: string;
  expression?: string[];
}

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const post = (url: string, body: string | Uint8Array, headers: Record<string, string> = JSON_HEADERS) =>
  send(url, { method: 'POST', headers, body: body as BodyInit });

/** Asserts the status and an OperationOutcome body; returns its issues. */
function outcome(reply: Reply, status: number): Issue[] {
  assert.equal(reply.status, status, `expected ${status}, got ${reply.status}: ${reply.text.slice(0, 300)}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/fhir\+json/);
  assert.equal(reply.json?.resourceType, 'OperationOutcome', reply.text.slice(0, 300));
  assert.ok(Array.isArray(reply.json.issue) && reply.json.issue.length > 0, 'at least one issue');
  for (const i of reply.json.issue as Issue[]) assert.equal(i.severity, 'error');
  return reply.json.issue as Issue[];
}

/** Asserts exactly one issue with this code, diagnostics matching, and (optionally) expression. */
function singleIssue(reply: Reply, status: number, code: string, diagnostics: RegExp, expression?: string[]): Issue {
  const issues = outcome(reply, status);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  const [i] = issues;
  assert.equal(i.code, code);
  assert.match(i.diagnostics ?? '', diagnostics);
  if (expression) assert.deepEqual(i.expression, expression);
  return i;
}

/** The tenant's system history is an empty Bundle: no version of any type was written. */
async function assertNothingStored(base: string): Promise<void> {
  const reply = await send(`${base}/_history`);
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.json.resourceType, 'Bundle');
  assert.equal(reply.json.type, 'history');
  assert.equal(reply.json.entry, undefined, `expected no history entries, got ${reply.text.slice(0, 300)}`);
}

async function assertNotFound(url: string): Promise<void> {
  const reply = await send(url);
  singleIssue(reply, 404, 'not-found', /is not known/);
}

const validPatient = () => ({
  resourceType: 'Patient',
  active: true,
  name: [{ family: 'Fuzzington', given: ['Fay', 'Q'] }],
  gender: 'female',
  birthDate: '1980-02-29',
  identifier: [{ system: 'http://example.org/mrn', value: 'MRN-12345' }],
  telecom: [{ system: 'phone', value: '+1 555 0100', use: 'home' }],
  address: [{ line: ['1 Main St'], city: 'Springfield', postalCode: '12345', country: 'US' }],
  extension: [{ url: 'http://example.org/ext', valueString: 'x' }],
});

/** Sends raw bytes with node:http, optionally chunked (no Content-Length). */
function rawPost(url: string, body: Buffer, headers: Record<string, string>, chunked: boolean): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'POST',
        headers: chunked ? headers : { ...headers, 'content-length': String(body.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    // The server may answer 413 and close before the whole body is written.
    req.on('error', reject);
    if (chunked) {
      for (let i = 0; i < body.length; i += 1024) req.write(body.subarray(i, i + 1024));
      req.end();
    } else req.end(body);
  });
}

describe('bad input (e2e, postgres)', function () {
  const hearth = useTestServer('postgres');
  const tenant = hearth.useTenant();

  it('a request line and headers over the parser limit → 431 with an OperationOutcome, not a bare status line', async () => {
    const reply = await new Promise<{ status: number; type?: string; text: string }>((resolve, reject) => {
      const u = new URL(`${tenant.base}/Patient`);
      const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, headers: { 'x-padding': 'x'.repeat(40_000) } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(reply.status, 431);
    assert.match(reply.type ?? '', /application\/fhir\+json/);
    const body = JSON.parse(reply.text);
    assert.equal(body.resourceType, 'OperationOutcome');
    assert.equal(body.issue[0].code, 'too-long');
  });

  it('bytes that are not HTTP → 400 with an OperationOutcome', async () => {
    const u = new URL(tenant.base);
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: u.hostname, port: Number(u.port) }, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (c: string) => (received += c));
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    assert.match(text, /^HTTP\/1\.1 400 /);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
    assert.equal(body.resourceType, 'OperationOutcome');
    assert.equal(body.issue[0].code, 'structure');
  });

  it('invalid JSON → 400 structure with the position, nothing stored', async () => {
    const reply = await post(`${tenant.base}/Patient`, '{"resourceType":"Patient","active":tru}');
    singleIssue(reply, 400, 'structure', /^Invalid JSON at line 1, column \d+ \(position \d+\)/);
    const cut = '{"resourceType":"Patient","name":[{"family":"X"';
    const truncated = await post(`${tenant.base}/Patient`, cut);
    singleIssue(truncated, 400, 'structure', new RegExp(`^Invalid JSON at line 1, column ${cut.length + 1} \\(position ${cut.length}\\): `));
    await assertNothingStored(tenant.base);
  });

  it('a resource failing the R4 JSON Schema → 400 with one issue per problem and element paths', async () => {
    const reply = await post(`${tenant.base}/Patient`, JSON.stringify({ resourceType: 'Patient', foo: 1, birthDate: 'not-a-date' }));
    const issues = outcome(reply, 400);
    assert.equal(issues.length, 2, JSON.stringify(issues));
    const byPath = new Map(issues.map((i) => [i.expression?.join(','), i]));
    const foo = byPath.get('Patient.foo');
    const birthDate = byPath.get('Patient.birthDate');
    assert.ok(foo, `an issue at Patient.foo in ${JSON.stringify(issues)}`);
    assert.ok(birthDate, `an issue at Patient.birthDate in ${JSON.stringify(issues)}`);
    assert.equal(foo.code, 'structure');
    assert.match(foo.diagnostics ?? '', /Unknown element 'foo'/);
    assert.equal(birthDate.code, 'value');
    assert.match(birthDate.diagnostics ?? '', /'not-a-date' does not match the pattern for date/);
    await assertNothingStored(tenant.base);
  });

  it('resourceType in the body differing from the URL type → 400 naming resourceType', async () => {
    const reply = await post(`${tenant.base}/Patient`, JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }));
    singleIssue(reply, 400, 'invalid', /resourceType 'Observation' in the body does not match 'Patient' in the URL/, ['resourceType']);
    const put = await send(`${tenant.base}/Patient/p1`, { method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify({ resourceType: 'Observation', id: 'p1' }) });
    singleIssue(put, 400, 'invalid', /resourceType 'Observation' in the body does not match 'Patient'/, ['resourceType']);
    await assertNothingStored(tenant.base);
  });

  it('PUT with a body id different from the URL id → 400 naming Patient.id, neither id stored', async () => {
    const reply = await send(`${tenant.base}/Patient/url-id`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ resourceType: 'Patient', id: 'body-id', active: true }),
    });
    singleIssue(reply, 400, 'invalid', /id 'body-id' in the body does not match 'url-id' in the URL/, ['Patient.id']);
    await assertNotFound(`${tenant.base}/Patient/url-id`);
    await assertNotFound(`${tenant.base}/Patient/body-id`);
    await assertNothingStored(tenant.base);
  });

  it('an invalid id in the URL (bad characters, 65 characters) → 400 naming Patient.id', async () => {
    const idRule = /an id is 1 to 64 characters from A-Z, a-z, 0-9, '-' and '.'/;
    const bad = await send(`${tenant.base}/Patient/bad_id!`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ resourceType: 'Patient', id: 'bad_id!' }),
    });
    const i = singleIssue(bad, 400, 'invalid', idRule, ['Patient.id']);
    assert.match(i.diagnostics ?? '', /Invalid id 'bad_id!'/);
    const long = 'a'.repeat(65);
    const tooLong = await send(`${tenant.base}/Patient/${long}`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify({ resourceType: 'Patient', id: long }),
    });
    singleIssue(tooLong, 400, 'invalid', idRule, ['Patient.id']);
    const read = await send(`${tenant.base}/Patient/bad_id!`);
    singleIssue(read, 400, 'invalid', idRule, ['Patient.id']);
    // 64 characters is the maximum and is fine: the limit is exactly 64.
    const ok = 'b'.repeat(64);
    const created = await send(`${tenant.base}/Patient/${ok}`, { method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify({ resourceType: 'Patient', id: ok }) });
    assert.equal(created.status, 201, created.text);
    const history = await send(`${tenant.base}/_history`);
    assert.deepEqual(history.json.entry.map((e: any) => e.resource.id), [ok], 'only the valid id was stored');
  });

  it('an unknown resource type → 404 not-found naming it, nothing stored', async () => {
    const reply = await post(`${tenant.base}/Foo`, JSON.stringify({ resourceType: 'Foo' }));
    singleIssue(reply, 404, 'not-found', /Unknown resource type 'Foo'/);
    const read = await send(`${tenant.base}/patient/1`);
    singleIssue(read, 404, 'not-found', /Unknown resource type 'patient'/);
    await assertNothingStored(tenant.base);
  });

  it('JSON Patch that is not an array → 400, the resource keeps version 1', async () => {
    const created = await post(`${tenant.base}/Patient`, JSON.stringify({ resourceType: 'Patient', active: false }));
    assert.equal(created.status, 201, created.text);
    const id = created.json.id as string;
    const reply = await send(`${tenant.base}/Patient/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify({ op: 'replace', path: '/active', value: true }),
    });
    singleIssue(reply, 400, 'invalid', /JSON Patch body must be a JSON array/);
    const read = await send(`${tenant.base}/Patient/${id}`);
    assert.equal(read.status, 200);
    assert.equal(read.json.meta.versionId, '1');
    assert.equal(read.json.active, false);
    const history = await send(`${tenant.base}/Patient/${id}/_history`);
    assert.equal(history.json.entry.length, 1);
  });

  it('an unknown path (/fhir/Patient/{id}/foo) → 404, nothing stored', async () => {
    const id = `nf-${randomUUID().slice(0, 8)}`;
    const reply = await send(`${hearth.server.origin}/fhir/Patient/${id}/foo`);
    singleIssue(reply, 404, 'not-found', new RegExp(`No such path: Patient/${id}/foo`));
    const put = await send(`${tenant.base}/Patient/${id}/foo`, { method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify({ resourceType: 'Patient', id }) });
    singleIssue(put, 404, 'not-found', /No such path/);
    const outside = await send(`${hearth.server.origin}/api/Patient`);
    singleIssue(outside, 404, 'not-found', /No FHIR endpoint at \/api\/Patient/);
    await assertNotFound(`${tenant.base}/Patient/${id}`);
    await assertNothingStored(tenant.base);
  });

  it('a method not allowed (POST /fhir/Patient/{id}) → 405 listing the allowed methods, nothing stored', async () => {
    const id = `na-${randomUUID().slice(0, 8)}`;
    const reply = await post(`${hearth.server.origin}/fhir/Patient/${id}`, JSON.stringify({ resourceType: 'Patient', id }));
    singleIssue(reply, 405, 'not-supported', new RegExp(`POST is not allowed on Patient/${id}; allowed: GET, PUT, PATCH, DELETE`));
    await assertNotFound(`${hearth.server.origin}/fhir/Patient/${id}`);
    const inTenant = await post(`${tenant.base}/Patient/${id}`, JSON.stringify({ resourceType: 'Patient', id }));
    singleIssue(inTenant, 405, 'not-supported', /POST is not allowed/);
    await assertNothingStored(tenant.base);
  });

  it('a 405 carries an Allow header (RFC 9110 §15.5.6: the server MUST send Allow with 405)', async () => {
    const reply = await post(`${tenant.base}/Patient/x1`, JSON.stringify({ resourceType: 'Patient', id: 'x1' }));
    assert.equal(reply.status, 405);
    const allow = (reply.headers.get('allow') ?? '').split(',').map((m) => m.trim());
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) assert.ok(allow.includes(method), `Allow: ${reply.headers.get('allow')}`);
    assert.ok(!allow.includes('POST'), `Allow: ${reply.headers.get('allow')}`);
  });

  it('__proto__ and constructor keys → 400 naming the key, nothing stored, no prototype pollution', async () => {
    const proto = await post(`${tenant.base}/Patient`, '{"resourceType":"Patient","__proto__":{"polluted":"yes"}}');
    singleIssue(proto, 400, 'invalid', /Property name '__proto__' is not allowed/, ['Patient.__proto__']);
    const nested = await post(`${tenant.base}/Patient`, '{"resourceType":"Patient","name":[{"family":"A","__proto__":{"polluted":"yes"}}]}');
    singleIssue(nested, 400, 'invalid', /Property name '__proto__' is not allowed/, ['Patient.name[0].__proto__']);
    const ctor = await post(`${tenant.base}/Patient`, '{"resourceType":"Patient","constructor":{"prototype":{"polluted":"yes"}}}');
    singleIssue(ctor, 400, 'invalid', /Property name 'constructor' is not allowed/, ['Patient.constructor']);
    const patchTarget = await post(`${tenant.base}/Patient`, JSON.stringify({ resourceType: 'Patient' }));
    assert.equal(patchTarget.status, 201);
    const patch = await send(`${tenant.base}/Patient/${patchTarget.json.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'add', path: '/__proto__/polluted', value: 'yes' }]),
    });
    assert.equal(patch.status, 400, patch.text);
    assert.equal(patch.json.resourceType, 'OperationOutcome');
    assert.equal(({} as any).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    assert.equal((Object as any).polluted, undefined);
    const history = await send(`${tenant.base}/_history`);
    assert.equal(history.json.entry.length, 1, 'only the plain Patient was stored');
    assert.equal(history.json.entry[0].resource.meta.versionId, '1');
  });

  it('a raw NUL byte inside a string → 400, nothing stored', async () => {
    const before = '{"resourceType":"Patient","name":[{"family":"Ab';
    const body = Buffer.concat([Buffer.from(before), Buffer.from([0x00]), Buffer.from('cd"}]}')]);
    const reply = await post(`${tenant.base}/Patient`, body);
    singleIssue(reply, 400, 'invalid', new RegExp(`Request body contains a NUL character at line 1, column ${before.length + 1} \\(position ${before.length}\\)`));
    await assertNothingStored(tenant.base);
  });

  it('an escaped \\u0000 inside a string → 400 naming the element, nothing stored', async () => {
    const reply = await post(`${tenant.base}/Patient`, '{"resourceType":"Patient","name":[{"family":"Ab\\u0000cd"}]}');
    singleIssue(reply, 400, 'invalid', /String contains a NUL character/, ['Patient.name[0].family']);
    const inKey = await post(`${tenant.base}/Patient`, '{"resourceType":"Patient","a\\u0000b":1}');
    singleIssue(inKey, 400, 'invalid', /Property name contains a NUL character/);
    await assertNothingStored(tenant.base);
  });

  it('invalid UTF-8 bytes (0xC3 0x28) → 400, nothing stored', async () => {
    const body = Buffer.concat([Buffer.from('{"resourceType":"Patient","name":[{"family":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    const reply = await post(`${tenant.base}/Patient`, body);
    singleIssue(reply, 400, 'invalid', /Request body is not valid UTF-8/);
    const lone = await post(`${tenant.base}/Patient`, Buffer.concat([Buffer.from('{"resourceType":"Patient","gender":"'), Buffer.from([0xff]), Buffer.from('"}')]));
    singleIssue(lone, 400, 'invalid', /not valid UTF-8/);
    await assertNothingStored(tenant.base);
  });

  it('XML in Accept → 406 saying JSON is supported, nothing stored', async () => {
    const read = await send(`${tenant.base}/metadata`, { headers: { accept: 'application/fhir+xml' } });
    singleIssue(read, 406, 'not-supported', /Accept 'application\/fhir\+xml'.*supports JSON only: application\/fhir\+json or application\/json/);
    const create = await post(`${tenant.base}/Patient`, JSON.stringify(validPatient()), { ...JSON_HEADERS, accept: 'application/xml' });
    singleIssue(create, 406, 'not-supported', /supports JSON only/);
    await assertNothingStored(tenant.base);
  });

  it('XML Content-Type on POST → 415 saying JSON is supported, nothing stored', async () => {
    const reply = await post(`${tenant.base}/Patient`, '<Patient xmlns="http://hl7.org/fhir"><active value="true"/></Patient>', {
      'content-type': 'application/fhir+xml',
    });
    singleIssue(reply, 415, 'not-supported', /Content-Type 'application\/fhir\+xml' is not supported\. .*supports JSON only/);
    await assertNothingStored(tenant.base);
  });

  it('_format=xml → 406, nothing stored', async () => {
    const read = await send(`${tenant.base}/metadata?_format=xml`);
    singleIssue(read, 406, 'not-supported', /_format 'xml' is not supported\. .*supports JSON only/);
    const create = await post(`${tenant.base}/Patient?_format=application/fhir%2Bxml`, JSON.stringify(validPatient()));
    singleIssue(create, 406, 'not-supported', /_format 'application\/fhir\+xml' is not supported/);
    await assertNothingStored(tenant.base);
  });

  it('text/plain Content-Type (even with a valid JSON body) → 415, nothing stored', async () => {
    const reply = await post(`${tenant.base}/Patient`, JSON.stringify(validPatient()), { 'content-type': 'text/plain;charset=utf-8' });
    singleIssue(reply, 415, 'not-supported', /Content-Type 'text\/plain' is not supported/);
    const missing = await post(`${tenant.base}/Patient`, new TextEncoder().encode(JSON.stringify(validPatient())), {});
    singleIssue(missing, 415, 'not-supported', /A missing Content-Type is not supported/);
    await assertNothingStored(tenant.base);
  });

  it('POST with an empty (or whitespace-only) body → 400, nothing stored', async () => {
    const empty = await post(`${tenant.base}/Patient`, '');
    singleIssue(empty, 400, 'required', /POST needs a request body/);
    const blank = await post(`${tenant.base}/Patient`, ' \r\n\t ');
    singleIssue(blank, 400, 'invalid', /Request body is empty/);
    const put = await send(`${tenant.base}/Patient/e1`, { method: 'PUT', headers: JSON_HEADERS, body: '' });
    singleIssue(put, 400, 'required', /PUT needs a request body/);
    await assertNothingStored(tenant.base);
  });

  it('_id with a NUL → 400 naming _id, like every other parameter\'s values', async () => {
    for (const query of ['_id=%00', '_id=a,b%00c', '_id:not=%00']) {
      singleIssue(await send(`${tenant.base}/Patient?${query}`), 400, 'invalid', /invalid characters/, [query.split('=')[0]]);
    }
    // An ordinary _id still searches.
    const ok = await send(`${tenant.base}/Patient?_id=nobody`);
    assert.equal(ok.status, 200, ok.text);
  });

  it('a history _page cursor holding NUL, a foreign type, a huge version or year 0 → 400 naming _page', async () => {
    const cursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
    const hostile = [
      ['2024-01-01T00:00:00.000Z', 'Patient', 'a\u0000b', 1],
      ['2024-01-01T00:00:00.000Z', 'Patient\u0000', 'a', 1],
      ['2024-01-01T00:00:00.000Z', 'Patient', 'a', 2 ** 40],
      ['0000-01-01T00:00:00.000Z', 'Patient', 'a', 1],
      ['+275760-09-13T00:00:00.000Z', 'Patient', 'a', 1],
      ['2024-01-01T00:00:00.000Z', 'NoSuchType', 'a', 1],
    ];
    for (const values of hostile) {
      for (const path of ['_history', 'Patient/_history', 'Patient/a/_history']) {
        const reply = await send(`${tenant.base}/${path}?_page=${cursor(values)}`);
        singleIssue(reply, 400, 'invalid', /_page is not a valid paging cursor/, ['_page']);
      }
    }
  });

  it('a batch whose entry fails inside → 200 batch-response with that entry\'s outcome and the others\' results', async () => {
    const created = await post(`${tenant.base}/Patient`, JSON.stringify(validPatient()));
    assert.equal(created.status, 201, created.text);
    const batch = await post(tenant.base, JSON.stringify({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${created.json.id}` } },
        { request: { method: 'GET', url: 'Patient?_id=%00' } },
        { request: { method: 'GET', url: 'Patient/_history?_page=' + Buffer.from('["2024-01-01T00:00:00.000Z","Patient","a\\u0000",1]').toString('base64url') } },
        { resource: validPatient(), request: { method: 'POST', url: 'Patient' } },
      ],
    }));
    assert.equal(batch.status, 200, batch.text);
    assert.equal(batch.json.type, 'batch-response');
    const [read, search, history, create] = batch.json.entry;
    assert.equal(read.response.status, '200 OK');
    assert.equal(read.resource.id, created.json.id);
    for (const failed of [search, history]) {
      assert.equal(failed.response.status, '400 Bad Request', JSON.stringify(failed));
      assert.equal(failed.response.outcome.resourceType, 'OperationOutcome');
    }
    assert.equal(create.response.status, '201 Created');
  });

  it('conditional criteria holding a NUL (create, update, delete, transaction ifNoneExist) → 400, nothing stored (found by the fuzz)', async () => {
    const body = JSON.stringify(validPatient());
    const create = await post(`${tenant.base}/Patient`, body, { ...JSON_HEADERS, 'if-none-exist': 'name=%00Smith' });
    singleIssue(create, 400, 'invalid', /invalid characters/);
    const update = await send(`${tenant.base}/Patient?name=%00Smith`, { method: 'PUT', headers: JSON_HEADERS, body });
    singleIssue(update, 400, 'invalid', /invalid characters/);
    const remove = await send(`${tenant.base}/Patient?name=%00Smith`, { method: 'DELETE' });
    singleIssue(remove, 400, 'invalid', /invalid characters/);
    const transaction = await post(tenant.base, JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ resource: validPatient(), request: { method: 'POST', url: 'Patient', ifNoneExist: 'address-state=%00Smith' } }],
    }));
    singleIssue(transaction, 400, 'invalid', /Bundle\.entry\[0\].*invalid characters/);
    await assertNothingStored(tenant.base);
  });

  it('none of the refusals above is a 5xx: a valid Patient is still accepted afterwards', async () => {
    const reply = await post(`${tenant.base}/Patient`, JSON.stringify(validPatient()));
    assert.equal(reply.status, 201, reply.text);
    assert.equal(reply.json.name[0].family, 'Fuzzington');
  });

  describe('configured limits', function () {
    const limited = useTestServer('postgres', { maxBodyBytes: 4096, maxJsonDepth: 16 }).useTenant();

    const patientOfSize = (bytes: number) => {
      const skeleton = JSON.stringify({ resourceType: 'Patient', name: [{ family: '' }] });
      return JSON.stringify({ resourceType: 'Patient', name: [{ family: 'x'.repeat(bytes - skeleton.length) }] });
    };

    it('a body over maxBodyBytes (8 KB against 4096) → 413 too-costly, nothing stored', async () => {
      const body = patientOfSize(8192);
      assert.equal(Buffer.byteLength(body), 8192);
      const reply = await post(`${limited.base}/Patient`, body);
      singleIssue(reply, 413, 'too-costly', /exceeds the configured limit \(HEARTH_MAX_BODY_BYTES\)/);
      // Without Content-Length (chunked), the limit applies to the bytes actually read.
      const chunked = await rawPost(`${limited.base}/Patient`, Buffer.from(body), JSON_HEADERS, true);
      assert.equal(chunked.status, 413, chunked.text);
      assert.equal(JSON.parse(chunked.text).issue[0].code, 'too-costly');
      await assertNothingStored(limited.base);
      // Just under the limit is accepted: the configured limit, not some other, is in force.
      const fits = await post(`${limited.base}/Patient`, patientOfSize(4000));
      assert.equal(fits.status, 201, fits.text);
    });

    it('JSON nested deeper than maxJsonDepth (16) → 400 structure naming the limit, nothing stored', async () => {
      const depth = 20;
      const body = `{"resourceType":"Patient","extension":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const reply = await post(`${limited.base}/Patient`, body);
      const i = singleIssue(reply, 400, 'structure', /JSON nesting is deeper than the limit of 16/);
      assert.match(i.expression?.[0] ?? '', /^Patient\.extension(\[0\])+$/);
      await assertNothingStored(limited.base);
    });
  });

  describe('fuzzing', function () {
    this.timeout(120_000);

    const ODD_KEYS = ['__proto__', 'constructor', 'prototype', '', 'resourceType', 'id', 'meta', 'a\u0000b', 'é', '\ud83d\ude00', 'x'.repeat(300), 'toString', 'hasOwnProperty', '$ref'];
    const ODD_VALUES: unknown[] = [null, true, 0, -1.5e308, 1e308, '', '\u0000', 'x'.repeat(1000), [], {}, [[[]]], { resourceType: 'Patient' }, '2023-02-30', '<script>'];

    function mutate(rand: () => number): Buffer {
      const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
      const int = (n: number) => Math.floor(rand() * n);
      const json = validPatient() as Record<string, unknown>;
      const structural = int(4);
      if (structural === 1) {
        // random keys with odd values, at the root or inside name[0]
        const target = rand() < 0.5 ? json : ((json.name as Record<string, unknown>[])[0]);
        for (let k = 0, n = 1 + int(3); k < n; k++) target[pick(ODD_KEYS)] = pick(ODD_VALUES);
      } else if (structural === 2) {
        // random nesting: wrap a property in up to 100 arrays/objects
        const keys = Object.keys(json);
        const key = pick(keys);
        let value: unknown = json[key];
        for (let d = 0, n = 1 + int(100); d < n; d++) value = rand() < 0.5 ? [value] : { v: value };
        json[key] = value;
      } else if (structural === 3) {
        // change the type of a random element
        json[pick(Object.keys(json))] = pick(ODD_VALUES);
      }
      let text = JSON.stringify(json);
      // __proto__ set through an assignment is not an own key; spell it into the text instead.
      if (structural === 1 && rand() < 0.3) text = text.replace('{', '{"__proto__":{"polluted":1},');
      let bytes = Buffer.from(text, 'utf8');
      const byteLevel = int(4);
      if (byteLevel === 1) {
        bytes = Buffer.from(bytes);
        for (let k = 0, n = 1 + int(6); k < n; k++) bytes[int(bytes.length)] = int(256);
      } else if (byteLevel === 2) {
        bytes = bytes.subarray(0, int(bytes.length));
      } else if (byteLevel === 3) {
        const at = int(bytes.length);
        const junk = Buffer.from([pick([0x00, 0xc3, 0xff, 0x22, 0x5c, 0x7b, 0x5b, 0x2c, 0xed, 0xa0])]);
        bytes = Buffer.concat([bytes.subarray(0, at), junk, bytes.subarray(at)]);
      }
      return bytes;
    }

    it('200 random mutations of a valid Patient: every answer is 201 or a 4xx OperationOutcome, never 5xx', async () => {
      const fuzzBase = await hearth.server.newTenantBase();
      const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
      const rand = prng(seed);
      const statuses = new Map<number, number>();
      let created = 0;
      const bodies = Array.from({ length: 200 }, () => mutate(rand));
      for (let i = 0; i < bodies.length; i += 10) {
        const replies = await Promise.all(bodies.slice(i, i + 10).map((b) => post(`${fuzzBase}/Patient`, b)));
        replies.forEach((reply, j) => {
          const label = `seed ${seed}, case ${i + j}: ${bodies[i + j].toString('latin1').slice(0, 200)} → ${reply.status} ${reply.text.slice(0, 300)}`;
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          assert.ok(reply.status === 201 || (reply.status >= 400 && reply.status < 500), label);
          if (reply.status === 201) {
            created++;
            assert.equal(reply.json?.resourceType, 'Patient', label);
            assert.match(reply.headers.get('location') ?? '', /\/Patient\/[^/]+\/_history\/1$/, label);
          } else {
            assert.equal(reply.json?.resourceType, 'OperationOutcome', label);
            assert.ok(reply.json.issue.length > 0 && typeof reply.json.issue[0].code === 'string', label);
          }
        });
      }
      if (process.env.FUZZ_VERBOSE) console.log(seed, [...statuses], created);
      assert.ok(created > 0, `some mutations stay valid: ${JSON.stringify([...statuses])}`);
      assert.ok((statuses.get(400) ?? 0) > 0, `some mutations must be refused: ${JSON.stringify([...statuses])}`);
      assert.equal(({} as any).polluted, undefined);
      // Exactly the accepted bodies were stored.
      const history = await send(`${fuzzBase}/_history?_count=1000`);
      assert.equal(history.status, 200);
      assert.equal(history.json.entry?.length ?? 0, created, `statuses ${JSON.stringify([...statuses])}`);
      // And the server still answers.
      const metadata = await send(`${hearth.server.origin}/fhir/metadata`);
      assert.equal(metadata.status, 200);
      assert.equal(metadata.json.resourceType, 'CapabilityStatement');
    });
  });
});
