// Unit tests for src/http/fhir-request.ts: FHIR base matching, the Prefer header
// (FHIR R4 http.html#ops; RFC 7240) and the Express → FhirRequest mapping.
import assert from 'node:assert/strict';
import type { Request } from 'express';
import { FhirError } from '../../src/core/errors.js';
import { ANONYMOUS_ACCESS } from '../../src/core/types.js';
import { matchBase, parsePrefer, toFhirRequest } from '../../src/http/fhir-request.js';

describe('matchBase', () => {
  it('the default tenant at /fhir', () => {
    assert.deepEqual(matchBase('/fhir'), { tenantId: 'default', basePath: '/fhir', segments: [] });
    assert.deepEqual(matchBase('/fhir/'), { tenantId: 'default', basePath: '/fhir', segments: [] });
    assert.deepEqual(matchBase('/fhir/metadata'), { tenantId: 'default', basePath: '/fhir', segments: ['metadata'] });
  });

  it('instance and version paths', () => {
    assert.deepEqual(matchBase('/fhir/Patient/1'), { tenantId: 'default', basePath: '/fhir', segments: ['Patient', '1'] });
    assert.deepEqual(matchBase('/fhir/Patient/1/_history/2')?.segments, ['Patient', '1', '_history', '2']);
  });

  it('named tenants at /t/{tenant}/fhir', () => {
    assert.deepEqual(matchBase('/t/acme/fhir/Patient'), { tenantId: 'acme', basePath: '/t/acme/fhir', segments: ['Patient'] });
    assert.deepEqual(matchBase('/t/acme/fhir'), { tenantId: 'acme', basePath: '/t/acme/fhir', segments: [] });
    assert.deepEqual(matchBase('/t/a.b-c/fhir/_history')?.tenantId, 'a.b-c');
  });

  it('empty segments (double slashes) are dropped', () => {
    assert.deepEqual(matchBase('/fhir//Patient///1/')?.segments, ['Patient', '1']);
  });

  it('non-FHIR paths are undefined', () => {
    for (const path of ['/', '', '/healthz', '/readyz', '/fhirx', '/fhir2/Patient', '/FHIR/Patient', '/api/fhir', '/t/fhir', '/t//fhir', '/t/acme/fhirx', '/t/acme/other/fhir', '/x/fhir']) {
      assert.equal(matchBase(path), undefined, path);
    }
  });

  it('decodes percent-encoded segments after splitting (an encoded / stays inside its segment)', () => {
    assert.deepEqual(matchBase('/fhir/Patient/a%2Fb')?.segments, ['Patient', 'a/b']);
    assert.deepEqual(matchBase('/fhir/Patient/%41bc')?.segments, ['Patient', 'Abc']);
    assert.deepEqual(matchBase('/fhir/Patient/%24everything')?.segments, ['Patient', '$everything']);
    assert.equal(matchBase('/t/ac%2Dme/fhir/Patient')?.tenantId, 'ac-me');
    assert.equal(matchBase('/t/ac%2Fme/fhir')?.tenantId, 'ac/me');
  });

  it('invalid percent-encoding → 400 naming the segment', () => {
    for (const path of ['/fhir/Patient/%E0%A4%A', '/fhir/Patient/%zz', '/t/%ff/fhir']) {
      assert.throws(
        () => matchBase(path),
        (error: unknown) => {
          assert.ok(error instanceof FhirError);
          assert.equal(error.status, 400);
          assert.equal(error.outcome.issue[0].code, 'invalid');
          assert.match(error.outcome.issue[0].diagnostics ?? '', /Invalid percent-encoding in URL segment '%/);
          return true;
        },
        path,
      );
    }
  });
});

describe('parsePrefer', () => {
  it('no header → no preferences', () => {
    assert.deepEqual(parsePrefer(undefined), {});
    assert.deepEqual(parsePrefer(''), {});
  });

  it('return=minimal | representation | OperationOutcome', () => {
    assert.deepEqual(parsePrefer('return=minimal'), { return: 'minimal' });
    assert.deepEqual(parsePrefer('return=representation'), { return: 'representation' });
    assert.deepEqual(parsePrefer('return=OperationOutcome'), { return: 'OperationOutcome' });
  });

  it('quoted values and blanks', () => {
    assert.deepEqual(parsePrefer('return="minimal"'), { return: 'minimal' });
    assert.deepEqual(parsePrefer('  return = representation  '), { return: 'representation' });
  });

  it('handling=strict | lenient', () => {
    assert.deepEqual(parsePrefer('handling=strict'), { handling: 'strict' });
    assert.deepEqual(parsePrefer('handling=lenient'), { handling: 'lenient' });
  });

  it('several preferences, comma- or semicolon-separated, with unknown ones ignored', () => {
    assert.deepEqual(parsePrefer('return=minimal, handling=lenient'), { return: 'minimal', handling: 'lenient' });
    assert.deepEqual(parsePrefer('handling=strict; return=OperationOutcome'), { return: 'OperationOutcome', handling: 'strict' });
    assert.deepEqual(parsePrefer('respond-async, wait=10, return=minimal'), { return: 'minimal' });
  });

  it('unknown values are ignored', () => {
    assert.deepEqual(parsePrefer('return=full'), {});
    assert.deepEqual(parsePrefer('return=MINIMAL'), {}, 'values are case-sensitive (RFC 7240 §2)');
    assert.deepEqual(parsePrefer('handling=loose'), {});
    assert.deepEqual(parsePrefer('return'), {});
  });

  it('preference names are case-insensitive (RFC 7240 §2)', () => {
    assert.deepEqual(parsePrefer('Return=minimal'), { return: 'minimal' });
    assert.deepEqual(parsePrefer('HANDLING=strict'), { handling: 'strict' });
  });
});

describe('toFhirRequest', () => {
  /** The parts of an Express request that toFhirRequest reads. */
  function fakeReq(method: string, originalUrl: string, headers: Record<string, string> = {}, body?: Buffer): Request {
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    return { method, originalUrl, body, socket: { remoteAddress: '127.0.0.9' }, get: (name: string) => lower[name.toLowerCase()] } as unknown as Request;
  }
  const limits = { maxDepth: 64 };
  const toReq = (req: Request) => toFhirRequest(req, matchBase(new URL(req.originalUrl, 'http://h').pathname)!, 'http://h/fhir', 'rid-1', limits, ANONYMOUS_ACCESS);

  it('maps method, tenant, path, query and headers', () => {
    const r = toReq(
      fakeReq('GET', '/t/acme/fhir/Patient/1?_summary=true&x=a%20b', {
        'If-Match': 'W/"2"',
        'If-None-Match': 'W/"1"',
        'If-None-Exist': 'identifier=a|b',
        'If-Modified-Since': 'Tue, 05 Mar 2024 06:07:08 GMT',
        Prefer: 'return=minimal',
      }),
    );
    assert.equal(r.method, 'GET');
    assert.equal(r.tenantId, 'acme');
    assert.equal(r.baseUrl, 'http://h/fhir');
    assert.deepEqual(r.path, ['Patient', '1']);
    assert.equal(r.query.get('_summary'), 'true');
    assert.equal(r.query.get('x'), 'a b');
    assert.equal(r.rawQuery, '_summary=true&x=a%20b', 'the query as sent, for the audit trail');
    assert.equal(r.clientAddress, '127.0.0.9');
    assert.equal(r.ifMatch, 'W/"2"');
    assert.equal(r.ifNoneMatch, 'W/"1"');
    assert.equal(r.ifNoneExist, 'identifier=a|b');
    assert.equal(r.ifModifiedSince?.toISOString(), '2024-03-05T06:07:08.000Z');
    assert.deepEqual(r.prefer, { return: 'minimal' });
    assert.equal(r.requestId, 'rid-1');
    assert.equal(r.body, undefined);
  });

  it('an unparseable If-Modified-Since is ignored', () => {
    assert.equal(toReq(fakeReq('GET', '/fhir/Patient/1', { 'If-Modified-Since': 'yesterday' })).ifModifiedSince, undefined);
  });

  it('parses a JSON body and its kind', () => {
    const r = toReq(fakeReq('PATCH', '/fhir/Patient/1', { 'Content-Type': 'application/json-patch+json' }, Buffer.from('[{"op":"remove","path":"/a"}]')));
    assert.equal(r.bodyKind, 'json-patch');
    assert.deepEqual(r.body, [{ op: 'remove', path: '/a' }]);
  });

  it('POST, PUT and PATCH without a body → 400 required', () => {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      assert.throws(
        () => toReq(fakeReq(method, '/fhir/Patient', {}, Buffer.alloc(0))),
        (e: FhirError) => e.status === 400 && e.outcome.issue[0].code === 'required' && e.outcome.issue[0].diagnostics === `${method} needs a request body`,
      );
    }
  });

  it('an unsupported method → 405', () => {
    assert.throws(
      () => toReq(fakeReq('OPTIONS', '/fhir/Patient')),
      (e: FhirError) => e.status === 405 && e.outcome.issue[0].code === 'not-supported' && /Method OPTIONS is not supported/.test(e.outcome.issue[0].diagnostics ?? ''),
    );
  });
});
