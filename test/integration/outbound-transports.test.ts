// The outbound transports against a real HTTP partner on 127.0.0.1 that the test scripts: the
// rest-hook transport (R4 subscription.html#channels: method, path, headers and body per payload
// kind, channel.header, the SSRF guard at delivery), the FHIR sync transport (fhir-kit-client:
// PUT/DELETE by id, conditional update/delete by identifier) with bearer and SMART Backend Services
// auth (a token endpoint on the same server verifies the client assertion), and the shared
// classification of answers (200, 201, 400 + OperationOutcome, 404, 429 + Retry-After, 503, 302,
// a hang). Needs no database: the partner is the only service.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import type { DestinationAuth, RestHookItem, SyncDestination, SyncItem } from '../../src/jobs/delivery/contracts.js';
import type { Resolver } from '../../src/jobs/net/ssrf-guard.js';
import { CLIENT_ASSERTION_TYPE } from '../../src/jobs/transport/destination-auth.js';
import { FhirSyncTransport } from '../../src/jobs/transport/fhir-sync-transport.js';
import { HttpRestHookTransport } from '../../src/jobs/transport/rest-hook-transport.js';

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

const OUTCOME = {
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Immunization.vaccineCode: unknown CVX code 999' }],
};

/** A scripted partner: answers the queued replies in order (200 when none), records every request; /token is a SMART token endpoint. */
class Partner {
  readonly received: Received[] = [];
  readonly replies: Reply[] = [];
  readonly tokenReplies: Reply[] = [];
  readonly assertions: { iss?: string; sub?: string; aud?: unknown; jti?: string; exp?: number; iat?: number }[] = [];
  tokensIssued = 0;
  publicJwk: JWK | undefined;
  private server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  reset(): void {
    this.received.length = 0;
    this.replies.length = 0;
    this.tokenReplies.length = 0;
    this.assertions.length = 0;
    this.tokensIssued = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.url === '/token') return this.token(body, res);
    this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    this.answer(this.replies.shift() ?? { status: 200, body: '{"resourceType":"OperationOutcome","issue":[]}' }, res);
  }

  private answer(reply: Reply, res: http.ServerResponse): void {
    if (reply === 'hang') return;
    res.writeHead(reply.status, { 'content-type': 'application/fhir+json', ...reply.headers });
    res.end(reply.body ?? '');
  }

  /** SMART Backend Services token endpoint: checks the form and the assertion's signature with the public key. */
  private async token(body: string, res: http.ServerResponse): Promise<void> {
    const scripted = this.tokenReplies.shift();
    if (scripted) return this.answer(scripted, res);
    const form = new URLSearchParams(body);
    try {
      assert.equal(form.get('grant_type'), 'client_credentials');
      assert.equal(form.get('client_assertion_type'), CLIENT_ASSERTION_TYPE);
      assert.equal(form.get('scope'), 'system/Immunization.cu');
      const { payload, protectedHeader } = await jwtVerify(form.get('client_assertion') ?? '', this.publicJwk as JWK, {
        issuer: 'hearth-client',
        subject: 'hearth-client',
        audience: `${this.base}/token`,
        algorithms: ['ES384'],
      });
      assert.equal(protectedHeader.kid, 'k1');
      this.assertions.push(payload);
    } catch (error) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_client', error_description: (error as Error).message }));
      return;
    }
    this.tokensIssued += 1;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ access_token: `tok-${this.tokensIssued}`, token_type: 'bearer', expires_in: 300, scope: 'system/Immunization.cu' }));
  }
}

const PATIENT = '{"resourceType":"Patient","id":"p1","meta":{"versionId":"3","lastUpdated":"2026-01-02T03:04:05.000Z"},"active":true}';
const IMMUNIZATION = {
  resourceType: 'Immunization',
  id: 'imm-1',
  meta: { versionId: '2', lastUpdated: '2026-01-02T03:04:05.000Z' },
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.3.1', value: 'shot-42' }],
  status: 'completed',
  vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '208' }] },
  patient: { reference: 'Patient/p1' },
  occurrenceDateTime: '2026-01-02',
};

describe('outbound transports against a real HTTP partner', function () {
  this.timeout(20000);
  const partner = new Partner();
  let privateJwk: JWK;

  before(async () => {
    await partner.start();
    const { privateKey, publicKey } = await generateKeyPair('ES384', { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), kid: 'k1' };
    partner.publicJwk = { ...(await exportJWK(publicKey)), alg: 'ES384' };
  });
  after(() => partner.stop());
  beforeEach(() => partner.reset());

  describe('rest-hook transport', () => {
    let transport: HttpRestHookTransport;
    before(() => {
      transport = new HttpRestHookTransport({ config: { deliveryTimeoutMs: 2000, outboundAllow: ['127.0.0.1'] } });
    });
    after(() => transport.close());

    function item(overrides: Partial<RestHookItem> = {}): RestHookItem {
      return {
        endpoint: `${partner.base}/hook`,
        headers: [],
        payload: 'empty',
        contentType: 'application/fhir+json',
        kind: 'notification',
        resourceType: 'Patient',
        id: 'p1',
        versionId: 3,
        content: PATIENT,
        resourceUrl: 'https://hearth.example.org/fhir/Patient/p1/_history/3',
        ...overrides,
      };
    }

    it("payload 'empty': POST [endpoint] with no body", async () => {
      assert.deepEqual(await transport.send(item()), { kind: 'delivered', status: 200 });
      const [got] = partner.received;
      assert.equal(partner.received.length, 1);
      assert.deepEqual([got.method, got.url, got.body, got.headers['content-length'], got.headers['content-type'], got.headers['content-location']], ['POST', '/hook', '', '0', undefined, undefined]);
    });

    it("payload 'id-only': POST [endpoint] with no body and Content-Location of the version", async () => {
      await transport.send(item({ payload: 'id-only' }));
      const [got] = partner.received;
      assert.deepEqual([got.method, got.url, got.body], ['POST', '/hook', '']);
      assert.equal(got.headers['content-location'], 'https://hearth.example.org/fhir/Patient/p1/_history/3');
      assert.equal(got.headers['content-type'], undefined);
    });

    it("payload 'full-resource': PUT [endpoint]/[type]/[id] with the resource and the channel's MIME type", async () => {
      partner.replies.push({ status: 201 });
      assert.deepEqual(await transport.send(item({ payload: 'full-resource', contentType: 'application/fhir+json;fhirVersion=4.0' })), { kind: 'delivered', status: 201 });
      const [got] = partner.received;
      assert.deepEqual([got.method, got.url, got.body], ['PUT', '/hook/Patient/p1', PATIENT]);
      assert.equal(got.headers['content-type'], 'application/fhir+json;fhirVersion=4.0');
      assert.equal(got.headers['content-length'], String(Buffer.byteLength(PATIENT)));
    });

    it("payload 'full-resource' of a deleted resource: DELETE [endpoint]/[type]/[id]", async () => {
      await transport.send(item({ payload: 'full-resource', content: null, endpoint: `${partner.base}/hook/?k=1` }));
      const [got] = partner.received;
      assert.deepEqual([got.method, got.url, got.body], ['DELETE', '/hook/Patient/p1?k=1', '']);
    });

    it('a handshake: POST [endpoint] with no body, whatever the payload', async () => {
      await transport.send(item({ kind: 'handshake', payload: 'full-resource' }));
      const [got] = partner.received;
      assert.deepEqual([got.method, got.url, got.body], ['POST', '/hook', '']);
    });

    it('sends channel.header lines as headers (repeated names kept)', async () => {
      await transport.send(item({ headers: ['Authorization: Bearer secret-123', 'X-Trace:  a b ', 'x-trace: c'] }));
      const [got] = partner.received;
      assert.equal(got.headers.authorization, 'Bearer secret-123');
      assert.equal(got.headers['x-trace'], 'a b, c');
    });

    it('refuses malformed header lines and ones setting Host or Content-Length, sending nothing', async () => {
      for (const [line, reason] of [
        ['no colon here', /is not "Name: value"/],
        ['Bad Name: x', /is not "Name: value"/],
        [': empty name', /is not "Name: value"/],
        ['X-Evil: a\r\nX-Injected: b', /control character/],
        ['Host: internal.example.org', /"Host" may not be set/],
        ['content-length: 0', /"content-length" may not be set/],
        ['Transfer-Encoding: chunked', /may not be set/],
      ] as const) {
        const result = await transport.send(item({ headers: [line] }));
        assert.equal(result.kind, 'reject', line);
        assert.match(result.kind === 'reject' ? result.reason : '', reason);
      }
      assert.equal(partner.received.length, 0);
    });

    it('classifies the answers: 2xx delivered, 400 reject with the OperationOutcome, 404 reject, 429/503 retry with Retry-After, 500 retry', async () => {
      const retryAt = new Date(Date.now() + 30_000).toUTCString();
      partner.replies.push(
        { status: 400, body: JSON.stringify(OUTCOME) },
        { status: 404, body: 'not here' },
        { status: 429, headers: { 'retry-after': '7' } },
        { status: 503, headers: { 'retry-after': retryAt } },
        { status: 500 },
        { status: 409 },
      );
      const bad = await transport.send(item());
      assert.equal(bad.kind, 'reject');
      assert.deepEqual(bad.kind === 'reject' ? [bad.status, bad.outcome] : [], [400, OUTCOME]);
      assert.match(bad.kind === 'reject' ? bad.reason : '', /400: Immunization\.vaccineCode: unknown CVX code 999/);
      const missing = await transport.send(item());
      assert.deepEqual(missing, { kind: 'reject', status: 404, reason: 'the partner answered 404' });
      assert.deepEqual(await transport.send(item()), { kind: 'retry', status: 429, reason: 'the partner answered 429', retryAfterMs: 7000 });
      const unavailable = await transport.send(item());
      assert.equal(unavailable.kind, 'retry');
      const after = unavailable.kind === 'retry' ? unavailable.retryAfterMs ?? -1 : -1;
      assert.ok(after > 25_000 && after <= 30_000, `Retry-After as an HTTP-date: ${after} ms`);
      assert.deepEqual(await transport.send(item()), { kind: 'retry', status: 500, reason: 'the partner answered 500' });
      assert.deepEqual(await transport.send(item()), { kind: 'retry', status: 409, reason: 'the partner answered 409' });
    });

    it('does not follow a redirect: a 302 is a reject naming where it pointed', async () => {
      partner.replies.push({ status: 302, headers: { location: `${partner.base}/elsewhere` } });
      const result = await transport.send(item());
      assert.equal(result.kind, 'reject');
      assert.match(result.kind === 'reject' ? result.reason : '', /redirect \(302\) to http:\/\/127\.0\.0\.1:\d+\/elsewhere, which is not followed/);
      assert.deepEqual(partner.received.map((r) => r.url), ['/hook']);
    });

    it("a partner that hangs is a 'retry' with reason 'timeout' after deliveryTimeoutMs", async () => {
      const quick = new HttpRestHookTransport({ config: { deliveryTimeoutMs: 300, outboundAllow: ['127.0.0.1'] } });
      partner.replies.push('hang');
      const started = Date.now();
      try {
        assert.deepEqual(await quick.send(item()), { kind: 'retry', reason: 'timeout' });
      } finally {
        quick.close();
      }
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 280 && elapsed < 2000, `timed out after ${elapsed} ms`);
    });

    it("a refused connection is a 'retry' (network error)", async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const result = await transport.send(item({ endpoint: `http://127.0.0.1:${port}/hook` }));
      assert.equal(result.kind, 'retry');
      assert.match(result.kind === 'retry' ? result.reason : '', /network error: ECONNREFUSED/);
    });

    it('refuses a loopback endpoint when the allow list does not name it, sending nothing', async () => {
      const strict = new HttpRestHookTransport({ config: { deliveryTimeoutMs: 2000, outboundAllow: [] } });
      try {
        const literal = await strict.send(item());
        assert.equal(literal.kind, 'reject');
        assert.match(literal.kind === 'reject' ? literal.reason : '', /refused to connect to 127\.0\.0\.1: .*loopback 127\.0\.0\.0\/8/);
        const mapped = await strict.send(item({ endpoint: `http://[::ffff:127.0.0.1]:${partner.port}/hook` }));
        assert.equal(mapped.kind, 'reject');
      } finally {
        strict.close();
      }
      // A name resolving to loopback is refused after DNS resolution, at connect time.
      const named = new HttpRestHookTransport({ config: { deliveryTimeoutMs: 2000, outboundAllow: [] }, resolver: async () => ['127.0.0.1'] });
      try {
        const result = await named.send(item({ endpoint: `http://partner.test:${partner.port}/hook` }));
        assert.equal(result.kind, 'reject');
        assert.match(result.kind === 'reject' ? result.reason : '', /refused to connect to partner\.test: the address 127\.0\.0\.1 \(partner\.test resolves to it\) is loopback/);
      } finally {
        named.close();
      }
      assert.equal(partner.received.length, 0);
    });

    it('refuses at delivery a name that DNS rebinds to a blocked address after passing once', async () => {
      let answers = ['127.0.0.1'];
      const resolver: Resolver = async () => answers;
      const rebinding = new HttpRestHookTransport({ config: { deliveryTimeoutMs: 2000, outboundAllow: ['127.0.0.1'] }, resolver });
      try {
        const endpoint = `http://partner.test:${partner.port}/hook`;
        assert.ok((await rebinding.guard.checkUrl(endpoint)).ok, 'allowed at creation');
        assert.deepEqual(await rebinding.send(item({ endpoint })), { kind: 'delivered', status: 200 });
        answers = ['169.254.169.254'];
        rebinding.close(); // no pooled connection: the next send resolves again, as a later delivery would
        const result = await rebinding.send(item({ endpoint }));
        assert.equal(result.kind, 'reject');
        assert.match(result.kind === 'reject' ? result.reason : '', /169\.254\.169\.254 .*link-local/);
      } finally {
        rebinding.close();
      }
      assert.equal(partner.received.length, 1);
    });
  });

  describe('FHIR sync transport (fhir-kit-client)', () => {
    let transport: FhirSyncTransport;
    before(() => {
      transport = new FhirSyncTransport({ config: { deliveryTimeoutMs: 2000 } });
    });

    function destination(overrides: Partial<SyncDestination> = {}): SyncDestination {
      return {
        tenantId: 'default',
        id: 'iis',
        endpoint: `${partner.base}/fhir`,
        resourceTypes: ['Immunization'],
        criteria: [],
        auth: { kind: 'bearer', token: 'registry-secret' },
        mode: 'put',
        enabled: true,
        transport: 'fhir',
        createdAt: new Date(),
        ...overrides,
      };
    }

    function syncItem(dest: SyncDestination, overrides: Partial<SyncItem> = {}): SyncItem {
      return { destination: dest, resourceType: 'Immunization', id: 'imm-1', versionId: 2, content: JSON.stringify(IMMUNIZATION), ...overrides };
    }

    it("mode 'put': PUT [base]/[type]/[id] with the resource and the bearer token", async () => {
      partner.replies.push({ status: 201, body: JSON.stringify(IMMUNIZATION) });
      assert.deepEqual(await transport.send(syncItem(destination())), { kind: 'delivered', status: 201 });
      const [got] = partner.received;
      assert.deepEqual([got.method, got.url], ['PUT', '/fhir/Immunization/imm-1']);
      assert.deepEqual(JSON.parse(got.body), IMMUNIZATION);
      assert.equal(got.headers.authorization, 'Bearer registry-secret');
      assert.match(got.headers['content-type'] ?? '', /^application\/fhir\+json/);
      assert.match(got.headers.accept ?? '', /application\/fhir\+json/);
    });

    it("mode 'put' delete: DELETE [base]/[type]/[id]; 404 and 410 count as delivered", async () => {
      const dest = destination({ auth: { kind: 'none' } });
      partner.replies.push({ status: 204 }, { status: 404, body: JSON.stringify(OUTCOME) }, { status: 410 });
      assert.deepEqual(await transport.send(syncItem(dest, { content: null, versionId: 3 })), { kind: 'delivered', status: 204 });
      assert.deepEqual(await transport.send(syncItem(dest, { content: null, versionId: 3 })), { kind: 'delivered', status: 404 });
      assert.deepEqual(await transport.send(syncItem(dest, { content: null, versionId: 3 })), { kind: 'delivered', status: 410 });
      assert.deepEqual(partner.received.map((r) => [r.method, r.url, r.headers.authorization]), Array(3).fill(['DELETE', '/fhir/Immunization/imm-1', undefined]));
    });

    it("mode 'conditional': PUT [base]/[type]?identifier=system|value without the id in the body", async () => {
      await transport.send(syncItem(destination({ mode: 'conditional' })));
      const [got] = partner.received;
      assert.equal(got.method, 'PUT');
      const url = new URL(got.url, partner.base);
      assert.equal(url.pathname, '/fhir/Immunization');
      assert.equal(url.searchParams.get('identifier'), 'urn:oid:2.16.840.1.113883.3.1|shot-42');
      const { id: _id, ...withoutId } = IMMUNIZATION;
      assert.deepEqual(JSON.parse(got.body), withoutId);
    });

    it("mode 'conditional' delete: a conditional DELETE on the last version's identifier", async () => {
      partner.replies.push({ status: 404 });
      const result = await transport.send(syncItem(destination({ mode: 'conditional' }), { content: null, previousContent: JSON.stringify(IMMUNIZATION) }));
      assert.deepEqual(result, { kind: 'delivered', status: 404 });
      const [got] = partner.received;
      assert.equal(got.method, 'DELETE');
      const url = new URL(got.url, partner.base);
      assert.equal(url.pathname, '/fhir/Immunization');
      assert.equal(url.searchParams.get('identifier'), 'urn:oid:2.16.840.1.113883.3.1|shot-42');
    });

    it("mode 'conditional' for a resource without an identifier is a 'reject', sending nothing", async () => {
      const { identifier: _identifier, ...bare } = IMMUNIZATION;
      const result = await transport.send(syncItem(destination({ mode: 'conditional' }), { content: JSON.stringify(bare) }));
      assert.equal(result.kind, 'reject');
      assert.match(result.kind === 'reject' ? result.reason : '', /no identifier/);
      const deleted = await transport.send(syncItem(destination({ mode: 'conditional' }), { content: null, previousContent: null }));
      assert.equal(deleted.kind, 'reject');
      assert.equal(partner.received.length, 0);
    });

    it('classifies the answers like the rest-hook transport', async () => {
      partner.replies.push(
        { status: 400, body: JSON.stringify(OUTCOME) },
        { status: 429, headers: { 'retry-after': '3' } },
        { status: 503, body: '<html>down</html>', headers: { 'content-type': 'text/html', 'retry-after': '0' } },
        { status: 200, body: 'OK', headers: { 'content-type': 'text/plain' } },
        { status: 404 },
      );
      const dest = destination();
      const bad = await transport.send(syncItem(dest));
      assert.equal(bad.kind, 'reject');
      assert.deepEqual(bad.kind === 'reject' ? [bad.status, bad.outcome] : [], [400, OUTCOME]);
      assert.deepEqual(await transport.send(syncItem(dest)), { kind: 'retry', status: 429, reason: 'the partner answered 429', retryAfterMs: 3000 });
      assert.deepEqual(await transport.send(syncItem(dest)), { kind: 'retry', status: 503, reason: 'the partner answered 503', retryAfterMs: 0 });
      assert.deepEqual(await transport.send(syncItem(dest)), { kind: 'delivered', status: 200 }, 'a 2xx that is not JSON is still delivered');
      assert.deepEqual(await transport.send(syncItem(dest)), { kind: 'reject', status: 404, reason: 'the partner answered 404' }, 'a 404 to an update is refused');
    });

    it('does not follow a redirect', async () => {
      partner.replies.push({ status: 302, headers: { location: `${partner.base}/other/Immunization/imm-1` } });
      const result = await transport.send(syncItem(destination()));
      assert.equal(result.kind, 'reject');
      assert.match(result.kind === 'reject' ? result.reason : '', /redirect \(302\) to .*\/other\/Immunization\/imm-1/);
      assert.equal(partner.received.length, 1);
    });

    it("a partner that hangs is a 'retry' with reason 'timeout'", async () => {
      const quick = new FhirSyncTransport({ config: { deliveryTimeoutMs: 300 } });
      partner.replies.push('hang');
      const started = Date.now();
      assert.deepEqual(await quick.send(syncItem(destination())), { kind: 'retry', reason: 'timeout' });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 280 && elapsed < 2000, `timed out after ${elapsed} ms`);
    });

    it('is not subject to the SSRF guard: an operator-configured loopback destination is reached', async () => {
      // The suite's partner is on 127.0.0.1 and no allow list is given to the sync transport.
      assert.equal((await transport.send(syncItem(destination()))).kind, 'delivered');
    });

    describe('SMART Backend Services auth', () => {
      function smart(): DestinationAuth {
        return { kind: 'smart-backend', tokenUrl: `${partner.base}/token`, clientId: 'hearth-client', scope: 'system/Immunization.cu', privateJwk };
      }

      it('obtains a token with a signed client assertion and caches it across sends', async () => {
        const sync = new FhirSyncTransport({ config: { deliveryTimeoutMs: 2000 } });
        const dest = destination({ auth: smart() });
        assert.equal((await sync.send(syncItem(dest))).kind, 'delivered');
        assert.equal((await sync.send(syncItem(dest, { versionId: 3 }))).kind, 'delivered');
        assert.equal(partner.tokensIssued, 1, 'one token request for two sends');
        assert.deepEqual(partner.received.map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-1']);
        const [claims] = partner.assertions;
        assert.ok(claims.jti && claims.exp && claims.iat);
        assert.ok(claims.exp - claims.iat <= 300, 'exp at most five minutes ahead');
      });

      it('uses a fresh jti for each assertion, and gets a new token when the cached one is refused with 401', async () => {
        const sync = new FhirSyncTransport({ config: { deliveryTimeoutMs: 2000 } });
        const dest = destination({ auth: smart() });
        await sync.send(syncItem(dest));
        partner.replies.push({ status: 401, body: JSON.stringify(OUTCOME) });
        assert.equal((await sync.send(syncItem(dest, { versionId: 3 }))).kind, 'delivered');
        assert.equal(partner.tokensIssued, 2);
        assert.deepEqual(partner.received.map((r) => r.headers.authorization), ['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
        assert.notEqual(partner.assertions[0].jti, partner.assertions[1].jti);
      });

      it("a token endpoint refusing the client (4xx) is a 'reject', a failing one (5xx) a 'retry'; nothing reaches the partner", async () => {
        const sync = new FhirSyncTransport({ config: { deliveryTimeoutMs: 2000 } });
        const dest = destination({ auth: smart() });
        partner.tokenReplies.push(
          { status: 400, body: JSON.stringify({ error: 'invalid_client', error_description: 'unknown key' }), headers: { 'content-type': 'application/json' } },
          { status: 503, headers: { 'retry-after': '5' } },
        );
        const refused = await sync.send(syncItem(dest));
        assert.equal(refused.kind, 'reject');
        assert.match(refused.kind === 'reject' ? refused.reason : '', /token endpoint .*\/token answered 400 \(invalid_client: unknown key\)/);
        const failing = await sync.send(syncItem(dest));
        assert.deepEqual(failing.kind === 'retry' ? [failing.status, failing.retryAfterMs] : failing, [503, 5000]);
        assert.equal(partner.received.length, 0);
      });

      it('a token endpoint signature check fails for another key (the assertion is really verified)', async () => {
        const { privateKey } = await generateKeyPair('ES384', { extractable: true });
        const other = { ...(await exportJWK(privateKey)), kid: 'k1' };
        const sync = new FhirSyncTransport({ config: { deliveryTimeoutMs: 2000 } });
        const result = await sync.send(syncItem(destination({ auth: { ...(smart() as Extract<DestinationAuth, { kind: 'smart-backend' }>), privateJwk: other } })));
        assert.equal(result.kind, 'reject');
        assert.match(result.kind === 'reject' ? result.reason : '', /answered 401 \(invalid_client: signature verification failed\)/);
      });
    });
  });
});
