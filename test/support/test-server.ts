// End-to-end fixture: a real Hearth server on 127.0.0.1, port 0, on either real PostgreSQL
// (the test database) or the embedded PGlite mode, plus a fresh tenant per test.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { createTenant } from '../../src/storage/pg/tenant-admin.js';
import { TEST_DATABASE_URL } from './services.js';

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

export async function startTestServer(mode: DatabaseMode, overrides: Partial<Config> = {}): Promise<TestServer> {
  const dataDir = mode === 'embedded' ? await mkdtemp(join(tmpdir(), 'hearth-e2e-')) : undefined;
  const env: NodeJS.ProcessEnv = { HEARTH_HOST: '127.0.0.1', HEARTH_PORT: '0', LOG_LEVEL: 'silent' };
  if (mode === 'postgres') env.DATABASE_URL = TEST_DATABASE_URL;
  else env.HEARTH_DATA_DIR = dataDir;
  const config = loadConfig(env, overrides);
  const server = await startServer(config);
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
