// End-to-end: the operational surface of a real server (ARCHITECTURE.md operations):
// X-Request-Id, CORS, gzip, security headers, health/readiness, PHI-free request logs,
// graceful shutdown, and embedded-mode persistence across restarts.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { loadConfig } from '../../src/core/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createTenant } from '../../src/storage/pg/tenant-admin.js';
import { requireServices, TEST_DATABASE_URL } from '../support/services.js';
import { startTestServer, useTestServer } from '../support/test-server.js';

const JSON_HEADERS = { 'content-type': 'application/fhir+json' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request through node:http, which (unlike fetch) leaves Content-Encoding alone. */
function raw(url: string, options: { method?: string; headers?: Record<string, string | number>; body?: Buffer } = {}): Promise<RawReply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function createPatient(base: string, family: string): Promise<any> {
  const res = await fetch(`${base}/Patient`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ resourceType: 'Patient', name: [{ family }] }) });
  assert.equal(res.status, 201, await res.clone().text());
  return res.json();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('operations (e2e, postgres)', function () {
  const hearth = useTestServer('postgres');
  const tenant = hearth.useTenant();

  describe('X-Request-Id', () => {
    it('echoes a sane client value (up to 128 of A-Z a-z 0-9 . _ : -)', async () => {
      const sane = 'client-req.42:ABC';
      const res = await fetch(`${tenant.base}/metadata`, { headers: { 'x-request-id': sane } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-request-id'), sane);
      const longest = 'a'.repeat(128);
      const res128 = await fetch(`${tenant.base}/metadata`, { headers: { 'x-request-id': longest } });
      assert.equal(res128.headers.get('x-request-id'), longest);
    });

    it('replaces an insane value (too long, spaces, odd characters) by a generated uuid', async () => {
      for (const insane of ['x'.repeat(300), 'a'.repeat(129), 'has spaces in it', 'semi;colon', "quote'd", 'slash/y', '<script>']) {
        const res = await fetch(`${tenant.base}/metadata`, { headers: { 'x-request-id': insane } });
        assert.equal(res.status, 200);
        const id = res.headers.get('x-request-id') ?? '';
        assert.match(id, UUID, `for ${JSON.stringify(insane)}`);
      }
    });

    it('generates a fresh uuid when absent, also on error responses', async () => {
      const a = await fetch(`${tenant.base}/metadata`);
      const b = await fetch(`${tenant.base}/Patient/does-not-exist`);
      assert.equal(b.status, 404);
      const idA = a.headers.get('x-request-id') ?? '';
      const idB = b.headers.get('x-request-id') ?? '';
      assert.match(idA, UUID);
      assert.match(idB, UUID);
      assert.notEqual(idA, idB);
    });
  });

  describe('CORS', () => {
    it('answers a preflight from any Origin by default and exposes ETag and Location', async () => {
      const res = await fetch(`${tenant.base}/Patient/abc`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type,if-match' },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const methods = (res.headers.get('access-control-allow-methods') ?? '').split(',');
      for (const m of ['GET', 'PUT', 'PATCH', 'POST', 'DELETE']) assert.ok(methods.includes(m), `allow-methods ${methods}`);
      const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
      assert.match(allowHeaders, /content-type/);
      assert.match(allowHeaders, /if-match/);
      const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
      for (const h of ['etag', 'location', 'last-modified', 'x-request-id']) assert.ok(exposed.includes(h), `exposed ${exposed}`);
    });

    it('an actual cross-origin write exposes ETag and Location', async () => {
      const res = await fetch(`${tenant.base}/Patient`, {
        method: 'POST',
        headers: { ...JSON_HEADERS, origin: 'https://app.example' },
        body: JSON.stringify({ resourceType: 'Patient' }),
      });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
      assert.ok(exposed.includes('etag') && exposed.includes('location'), `exposed ${exposed}`);
      assert.equal(res.headers.get('etag'), 'W/"1"');
      assert.match(res.headers.get('location') ?? '', /\/Patient\/[^/]+\/_history\/1$/);
    });

    describe('with corsOrigins restricted', () => {
      const restricted = useTestServer('postgres', { corsOrigins: ['http://allowed.example'] });

      it('a request from another origin gets no Access-Control-Allow-Origin', async () => {
        const get = await fetch(`${restricted.server.origin}/fhir/metadata`, { headers: { origin: 'http://evil.example' } });
        assert.equal(get.status, 200);
        assert.equal(get.headers.get('access-control-allow-origin'), null);
        const preflight = await fetch(`${restricted.server.origin}/fhir/Patient`, {
          method: 'OPTIONS',
          headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
        });
        assert.equal(preflight.headers.get('access-control-allow-origin'), null);
      });

      it('the listed origin is allowed by name, with Vary: Origin', async () => {
        const res = await fetch(`${restricted.server.origin}/fhir/metadata`, { headers: { origin: 'http://allowed.example' } });
        assert.equal(res.headers.get('access-control-allow-origin'), 'http://allowed.example');
        assert.match(res.headers.get('vary') ?? '', /Origin/);
      });
    });
  });

  describe('compression and security headers', () => {
    it('gzips a large _history (30 resources) when asked, and the body is the full Bundle', async () => {
      for (let i = 0; i < 30; i += 10) {
        await Promise.all(Array.from({ length: 10 }, (_, j) => createPatient(tenant.base, `Gzip-${i + j}`)));
      }
      const url = `${tenant.base}/Patient/_history?_count=30`;
      const zipped = await raw(url, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(zipped.status, 200);
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.match(String(zipped.headers.vary), /Accept-Encoding/);
      const bundle = JSON.parse(gunzipSync(zipped.body).toString('utf8'));
      assert.equal(bundle.resourceType, 'Bundle');
      assert.equal(bundle.type, 'history');
      assert.equal(bundle.entry.length, 30);
      assert.deepEqual(new Set(bundle.entry.map((e: any) => e.resource.name[0].family)), new Set(Array.from({ length: 30 }, (_, i) => `Gzip-${i}`)));
      const plain = await raw(url);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.ok(zipped.body.length < plain.body.length / 2, `gzip ${zipped.body.length} vs plain ${plain.body.length}`);
      assert.deepEqual(JSON.parse(plain.body.toString('utf8')).entry.length, 30);
    });

    it('gzips /metadata and it decompresses to the CapabilityStatement', async () => {
      const res = await raw(`${hearth.server.origin}/fhir/metadata`, { headers: { 'accept-encoding': 'gzip, deflate' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], 'gzip');
      const statement = JSON.parse(gunzipSync(res.body).toString('utf8'));
      assert.equal(statement.resourceType, 'CapabilityStatement');
      assert.equal(statement.fhirVersion, '4.0.1');
    });

    it('sends helmet security headers and no X-Powered-By, on FHIR and error responses', async () => {
      for (const url of [`${tenant.base}/metadata`, `${tenant.base}/Patient/missing`, `${hearth.server.origin}/healthz`]) {
        const res = await fetch(url);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
        assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN', url);
        assert.equal(res.headers.get('x-powered-by'), null, url);
      }
    });
  });

  describe('health', () => {
    it('/healthz → 200 ok', async () => {
      const res = await fetch(`${hearth.server.origin}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    });

    it('/readyz → 200 ready while the database answers', async () => {
      const res = await fetch(`${hearth.server.origin}/readyz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ready' });
    });
  });

  describe('request logs', () => {
    let logged: RunningServer;
    const lines: string[] = [];
    let tenantBase: string;

    before(async function () {
      await requireServices(this);
      const config = loadConfig({ HEARTH_HOST: '127.0.0.1', HEARTH_PORT: '0', DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'info', HEARTH_AUTH: 'off' });
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
      logged = await startServer(config, logger);
      const id = `log-${randomUUID().slice(0, 13)}`;
      await createTenant(logged.database.pool, { id, name: id, dedicatedPartition: false });
      tenantBase = `${logged.origin}/t/${id}/fhir`;
    });
    after(async () => {
      await logged?.close();
    });

    async function requestLine(requestId: string): Promise<Record<string, unknown>> {
      for (let i = 0; i < 100; i++) {
        const found = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.requestId === requestId && l.msg === 'request');
        if (found) return found;
        await sleep(20);
      }
      assert.fail(`no request log line for ${requestId} in:\n${lines.join('')}`);
    }

    it('logs requestId, method, path and status per request, but no body content or query values', async () => {
      const secretFamily = `Secretfamily${randomUUID().slice(0, 8)}`;
      const secretSearch = `Searchsecret${randomUUID().slice(0, 8)}`;
      const secretInvalid = `Invalidsecret${randomUUID().slice(0, 8)}`;
      const rid = `logs-${randomUUID().slice(0, 8)}`;

      const created = await fetch(`${tenantBase}/Patient`, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-request-id': `${rid}-create` },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: secretFamily }] }),
      });
      assert.equal(created.status, 201);
      const searched = await fetch(`${tenantBase}/Patient?family=${secretSearch}&_count=5`, { headers: { 'x-request-id': `${rid}-search` } });
      assert.equal(searched.status, 200, 'the search ran');
      const history = await fetch(`${tenantBase}/Patient/_history?_since=2001-02-03T04:05:06Z`, { headers: { 'x-request-id': `${rid}-history` } });
      assert.equal(history.status, 200);
      const refused = await fetch(`${tenantBase}/Patient`, {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-request-id': `${rid}-invalid` },
        body: JSON.stringify({ resourceType: 'Patient', [secretInvalid]: secretInvalid, birthDate: secretInvalid }),
      });
      assert.equal(refused.status, 400);

      const create = await requestLine(`${rid}-create`);
      assert.equal(create.method, 'POST');
      assert.equal(create.status, 201);
      assert.equal(create.path, new URL(`${tenantBase}/Patient`).pathname);
      assert.equal(typeof create.ms, 'number');
      const search = await requestLine(`${rid}-search`);
      assert.equal(search.method, 'GET');
      assert.equal(search.status, searched.status);
      assert.equal(search.path, new URL(`${tenantBase}/Patient`).pathname, 'the path, without the query string');
      const hist = await requestLine(`${rid}-history`);
      assert.equal(hist.status, 200);
      assert.equal(hist.path, new URL(`${tenantBase}/Patient/_history`).pathname);
      const invalid = await requestLine(`${rid}-invalid`);
      assert.equal(invalid.status, 400);

      const all = lines.join('');
      for (const secret of [secretFamily, secretSearch, secretInvalid, '2001-02-03', 'family=', '_count=5']) {
        assert.ok(!all.includes(secret), `the log must not contain ${secret}:\n${all}`);
      }
    });
  });

  describe('graceful shutdown', function () {
    this.timeout(60_000);

    /** POSTs a Patient in `parts` chunks with `gapMs` between them; resolves with the reply. */
    function slowPost(url: string, family: string, parts: number, gapMs: number) {
      const body = Buffer.from(JSON.stringify({ resourceType: 'Patient', name: [{ family, given: ['g'.repeat(50_000)] }] }));
      const u = new URL(url);
      let firstChunkSent!: () => void;
      const started = new Promise<void>((r) => (firstChunkSent = r));
      const reply = new Promise<{ status: number; json: any; endedAt: number; connection?: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            headers: { ...JSON_HEADERS, 'content-length': body.length },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                json: JSON.parse(Buffer.concat(chunks).toString('utf8')),
                endedAt: Date.now(),
                connection: res.headers.connection,
              }),
            );
          },
        );
        req.on('error', reject);
        void (async () => {
          const size = Math.ceil(body.length / parts);
          for (let i = 0; i < parts; i++) {
            req.write(body.subarray(i * size, (i + 1) * size));
            if (i === 0) firstChunkSent();
            await sleep(gapMs);
          }
          req.end();
        })();
      });
      return { started, reply };
    }

    async function connectionRefused(url: string): Promise<void> {
      await assert.rejects(fetch(url), (error: any) => {
        assert.equal(error.cause?.code, 'ECONNREFUSED', String(error.cause ?? error));
        return true;
      });
    }

    it('an in-flight request completes with 201 after close(); new connections are refused', async () => {
      const ts = await startTestServer('postgres');
      const tenant = await ts.newTenantBase();
      const { started, reply } = slowPost(`${tenant}/Patient`, 'Inflight', 5, 200);
      await started;
      await sleep(100); // the server has the headers and part of the body
      const closing = ts.stop();
      await sleep(50);
      await connectionRefused(`${ts.origin}/healthz`);
      const done = await reply;
      assert.equal(done.status, 201);
      assert.equal(done.json.resourceType, 'Patient');
      assert.equal(done.json.name[0].family, 'Inflight');
      assert.equal(done.json.name[0].given[0].length, 50_000);
      assert.equal(done.json.meta.versionId, '1');
      await closing;
      await connectionRefused(`${ts.origin}/healthz`);
    });

    it('close() resolves promptly once the in-flight request is answered (does not wait out keep-alive)', async () => {
      const ts = await startTestServer('postgres');
      const tenant = await ts.newTenantBase();
      const { started, reply } = slowPost(`${tenant}/Patient`, 'Prompt', 3, 150);
      await started;
      await sleep(50);
      let closedAt = 0;
      const closing = ts.stop().then(() => (closedAt = Date.now()));
      const done = await reply;
      assert.equal(done.status, 201);
      await closing;
      const lingered = closedAt - done.endedAt;
      assert.ok(
        lingered < 2000,
        `close() resolved ${lingered} ms after the last response (Connection: ${done.connection}); ` +
          'the connection that was busy at close() is kept alive until the keep-alive timeout',
      );
    });
  });
});

describe('embedded mode (e2e)', function () {
  this.timeout(180_000);
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hearth-persist-'));
  });
  after(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('data persists across a restart on the same dataDir', async () => {
    const first = await startTestServer('embedded', { dataDir });
    let base: string;
    let created: any;
    let etag: string | null;
    try {
      assert.equal(first.server.database.mode, 'embedded');
      base = await first.newTenantBase();
      const res = await fetch(`${base}/Patient`, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Persistent', given: ['Pat'] }], birthDate: '1970-01-01' }),
      });
      assert.equal(res.status, 201);
      etag = res.headers.get('etag');
      created = await res.json();
    } finally {
      await first.stop();
    }
    assert.ok((await stat(join(dataDir, 'pglite'))).isDirectory(), 'the database lives under dataDir/pglite');

    const second = await startTestServer('embedded', { dataDir });
    try {
      const path = new URL(base).pathname;
      const res = await fetch(`${second.origin}${path}/Patient/${created.id}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('etag'), etag);
      assert.deepEqual(await res.json(), created);
      const history = await (await fetch(`${second.origin}${path}/Patient/${created.id}/_history`)).json();
      assert.equal(history.entry.length, 1);
    } finally {
      await second.stop();
    }
  });
});
