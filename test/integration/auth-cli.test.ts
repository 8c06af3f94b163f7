// The `hearth client` and `hearth launch` command functions (src/cli/auth-commands.ts) on the
// test database: what they print, what they store, what they refuse.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthorizationServerApi } from '../../src/auth/token-side.js';
import { clientCommand, launchCommand } from '../../src/cli/auth-commands.js';
import { loadConfig } from '../../src/core/config.js';
import type { Database } from '../../src/storage/pg/database.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';
import { generateClientKeys } from '../support/smart-clients.js';

describe('auth CLI commands (integration)', function () {
  let database: Database;
  let tenant: string;
  let dir: string;
  const run = async (fn: typeof clientCommand, args: string[]) => {
    const lines: string[] = [];
    await fn(database, args, (l) => lines.push(l));
    return lines;
  };

  before(async function () {
    await requireServices(this);
    database = { pool: await testPool(), mode: 'postgres', close: async () => undefined };
    dir = await mkdtemp(join(tmpdir(), 'hearth-auth-cli-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    tenant = await newTenant(database.pool);
  });

  it('client add prints the client_id; list shows it; remove removes it', async () => {
    const [id] = await run(clientCommand, ['add', '--tenant', tenant, '--name', 'Chart', '--kind', 'public', '--redirect-uri', 'https://a.example/cb', '--redirect-uri', 'http://localhost:3000/cb', '--scope', 'launch patient/*.rs']);
    assert.match(id, /^[0-9a-f-]{36}$/);
    const api = createAuthorizationServerApi({ config: loadConfig({}), database, service: undefined as never, logger: undefined as never, baseUrlFor: () => '' });
    const client = await api.findClient(tenant, id);
    assert.deepEqual(client?.redirectUris, ['https://a.example/cb', 'http://localhost:3000/cb']);
    assert.equal(client?.scope, 'launch patient/*.rs');
    const keys = await generateClientKeys('RS384');
    const file = join(dir, `${tenant}.json`);
    await writeFile(file, JSON.stringify(keys.jwks));
    assert.deepEqual(await run(clientCommand, ['add', '--tenant', tenant, '--name', 'Feed', '--kind', 'backend-service', '--jwks', file, '--scope', 'system/*.rs', '--admin', '--client-id', 'feed']), ['feed']);
    assert.equal((await api.findClient(tenant, 'feed'))?.admin, true);
    const listed = await run(clientCommand, ['list', '--tenant', tenant]);
    assert.equal(listed.length, 2);
    assert.ok(listed.includes('feed\tbackend-service\tFeed\tsystem/*.rs\tadmin'), listed.join('\n'));
    await run(clientCommand, ['remove', 'feed', '--tenant', tenant]);
    assert.equal(await api.findClient(tenant, 'feed'), undefined);
    await assert.rejects(run(clientCommand, ['remove', 'feed', '--tenant', tenant]), /No client/);
  });

  it('refuses an unknown tenant, a missing kind, an http redirect off loopback, a JWKS file that is not one', async () => {
    await assert.rejects(run(clientCommand, ['list', '--tenant', 'no-such-tenant']), /Unknown tenant/);
    await assert.rejects(run(clientCommand, ['add', '--tenant', tenant, '--name', 'x']), /--kind/);
    await assert.rejects(run(clientCommand, ['add', '--tenant', tenant, '--name', 'x', '--kind', 'public', '--redirect-uri', 'http://evil.example/cb']), /https/);
    const file = join(dir, 'bad.json');
    await writeFile(file, '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"1"}]}');
    await assert.rejects(run(clientCommand, ['add', '--tenant', tenant, '--name', 'x', '--kind', 'backend-service', '--jwks', file]), /kty/);
    assert.deepEqual(await run(clientCommand, ['list', '--tenant', tenant]), []);
  });

  it('launch create prints a launch value that resolves to the context', async () => {
    const [launch] = await run(launchCommand, ['create', '--tenant', tenant, '--patient', 'p1', '--encounter', 'e1', '--user', 'u1']);
    const api = createAuthorizationServerApi({ config: loadConfig({}), database, service: undefined as never, logger: undefined as never, baseUrlFor: () => '' });
    assert.deepEqual(await api.resolveLaunch(tenant, launch), { patient: 'p1', encounter: 'e1', userId: 'u1' });
    await assert.rejects(run(launchCommand, ['create', '--tenant', tenant]), /--patient/);
  });
});
