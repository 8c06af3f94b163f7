// End-to-end fixture: a real Hearth server on 127.0.0.1, port 0, on either real PostgreSQL
// (the test database) or the embedded PGlite mode, plus a fresh tenant per test.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'fhir-kit-client';
import { loadConfig, type Config } from '../../src/core/config.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';
import { createTenant } from '../../src/storage/pg/tenant-admin.js';
import { requireServices, TEST_DATABASE_URL } from './services.js';

export type DatabaseMode = 'postgres' | 'embedded';
export const DATABASE_MODES: readonly DatabaseMode[] = ['postgres', 'embedded'];

export interface TestServer {
  mode: DatabaseMode;
  origin: string;
  server: RunningServer;
  /** Creates a tenant and returns its FHIR base URL, e.g. http://127.0.0.1:41234/t/t-ab12/fhir */
  newTenantBase(options?: { dedicatedPartition?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestServer(mode: DatabaseMode, overrides: Partial<Config> = {}, start: StartOptions = {}): Promise<TestServer> {
  const dataDir = mode === 'embedded' ? await mkdtemp(join(tmpdir(), 'hearth-e2e-')) : undefined;
  // Open on loopback unless a test asks for `auth: 'required'`: the FHIR tests run as the
  // anonymous administrator; the SMART tests present tokens (which an open server honours too).
  // No background audit sealing either (a test asks for it): the shared test database holds
  // thousands of tenants, which a sealing round would walk while other tests run.
  const env: NodeJS.ProcessEnv = { HEARTH_HOST: '127.0.0.1', HEARTH_PORT: '0', LOG_LEVEL: 'silent', HEARTH_AUTH: 'off', HEARTH_AUDIT_SEAL_INTERVAL_MS: '0' };
  if (mode === 'postgres') env.DATABASE_URL = TEST_DATABASE_URL;
  else env.HEARTH_DATA_DIR = dataDir;
  const config = loadConfig(env, overrides);
  const server = await startServer(config, undefined, start);
  return {
    mode,
    origin: server.origin,
    server,
    async newTenantBase(options = {}) {
      const id = `e2e-${randomUUID().slice(0, 13)}`;
      await createTenant(server.database.pool, { id, name: id, dedicatedPartition: options.dedicatedPartition ?? false });
      return `${server.origin}/t/${id}/fhir`;
    },
    async stop() {
      await server.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServerFixture {
  /** The running server; available in hooks and tests, not while the describe() body runs. */
  readonly server: TestServer;
  /** Registers a beforeEach that gives every test a fresh tenant on this server. */
  useTenant(): TenantFixture;
}

export interface TenantFixture {
  /** The current test's tenant base URL, e.g. http://127.0.0.1:41234/t/e2e-ab12/fhir */
  readonly base: string;
  /** A fhir-kit-client on `base`. */
  readonly client: Client;
}

/**
 * Call inside a describe(): registers a before() that requires the real services (fail in
 * CI, skip elsewhere) and starts a server in `mode`, and an after() that stops it.
 */
export function useTestServer(mode: DatabaseMode, overrides: Partial<Config> = {}, start: StartOptions = {}): TestServerFixture {
  let server: TestServer | undefined;
  before(async function () {
    // Starting a server (the embedded mode initialises PGlite and migrates) took over mocha's
    // 30 s on two busy cores in CI; a slow start is not a failure of the suite's tests.
    this.timeout(Math.max(this.timeout(), 120_000));
    await requireServices(this);
    server = await startTestServer(mode, overrides, start);
  });
  after(async () => {
    await server?.stop();
    server = undefined;
  });
  const fixture: TestServerFixture = {
    get server() {
      if (!server) throw new Error('the test server is not running (use it in hooks and tests)');
      return server;
    },
    useTenant() {
      let tenant: { base: string; client: Client } | undefined;
      beforeEach(async () => {
        const base = await fixture.server.newTenantBase();
        tenant = { base, client: new Client({ baseUrl: base }) };
      });
      const current = () => {
        if (!tenant) throw new Error('no tenant yet (use it in beforeEach hooks and tests)');
        return tenant;
      };
      return {
        get base() {
          return current().base;
        },
        get client() {
          return current().client;
        },
      };
    },
  };
  return fixture;
}
