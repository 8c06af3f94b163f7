// `hearth user ...` (src/cli/user-commands.ts) on real PostgreSQL: adding a user with the
// password from HEARTH_NEW_USER_PASSWORD (hashed, never stored as given), with --totp printing an
// otpauth:// URI whose secret is the one stored, listing, the tenant's TOTP policy, removing,
// and the refusals (unknown tenant, short password, bad fhirUser, duplicate username).
import assert from 'node:assert/strict';
import type pg from 'pg';
import { userCommand } from '../../src/cli/user-commands.js';
import { verifyPassword } from '../../src/auth/passwords.js';
import { UserStore } from '../../src/auth/users/user-store.js';
import type { Database } from '../../src/storage/pg/database.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const PASSWORD = 'twelve chars or more';

describe('hearth user (integration)', function () {
  this.timeout(30_000);
  let pool: pg.Pool;
  let database: Database;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
    database = { pool, mode: 'postgres', close: async () => undefined };
  });

  async function run(args: string[], env: NodeJS.ProcessEnv = { HEARTH_NEW_USER_PASSWORD: PASSWORD }): Promise<string[]> {
    const lines: string[] = [];
    await userCommand(database, args, { env, out: (line) => lines.push(line), prompt: () => undefined });
    return lines;
  }

  it('adds a user with a hashed password, and with --totp prints the otpauth URI of the stored secret', async () => {
    const tenant = await newTenant(pool);
    const [added] = await run(['add', '--tenant', tenant, '--username', 'Alice', '--fhir-user', 'Practitioner/7']);
    assert.match(added, /Added user Alice \(Practitioner\/7\)/);
    const users = new UserStore(pool);
    const alice = await users.findByUsername(tenant, 'alice');
    assert.ok(alice);
    assert.notEqual(alice.passwordHash, PASSWORD);
    assert.equal(await verifyPassword(PASSWORD, alice.passwordHash), true);
    assert.equal(alice.totpSecret, undefined);

    const lines = await run(['add', '--tenant', tenant, '--username', 'bob', '--fhir-user', 'Patient/3', '--totp']);
    const uri = /otpauth:\/\/\S+/.exec(lines.join('\n'))?.[0];
    assert.ok(uri, lines.join('\n'));
    const bob = await users.findByUsername(tenant, 'bob');
    assert.equal(new URL(uri).searchParams.get('secret'), bob?.totpSecret);

    const listed = await run(['list', '--tenant', tenant]);
    assert.deepEqual(listed.map((l) => l.split('\t').slice(0, 3)), [['Alice', 'Practitioner/7', 'password'], ['bob', 'Patient/3', 'totp']]);
  });

  it('sets and shows the tenant policy, and removes users', async () => {
    const tenant = await newTenant(pool);
    assert.match((await run(['policy', '--tenant', tenant]))[0], /optional/);
    assert.match((await run(['policy', '--tenant', tenant, '--require-totp', 'on']))[0], /required/);
    assert.deepEqual(await new UserStore(pool).authPolicy(tenant), { requireTotp: true });
    await run(['add', '--tenant', tenant, '--username', 'carol', '--fhir-user', 'Practitioner/1']);
    assert.match((await run(['remove', '--tenant', tenant, '--username', 'CAROL']))[0], /Removed/);
    assert.deepEqual(await run(['list', '--tenant', tenant]), []);
  });

  it('refuses an unknown tenant, a short password, a bad fhirUser, a taken username and a missing terminal', async () => {
    const tenant = await newTenant(pool);
    await assert.rejects(run(['add', '--tenant', 'no-such-tenant', '--username', 'x', '--fhir-user', 'Practitioner/1']), /does not exist/);
    await assert.rejects(run(['add', '--tenant', tenant, '--username', 'x', '--fhir-user', 'Practitioner/1'], { HEARTH_NEW_USER_PASSWORD: 'short' }), /at least 12/);
    await assert.rejects(run(['add', '--tenant', tenant, '--username', 'x', '--fhir-user', 'Observation/1']), /fhirUser/);
    await run(['add', '--tenant', tenant, '--username', 'dup', '--fhir-user', 'Practitioner/1']);
    await assert.rejects(run(['add', '--tenant', tenant, '--username', 'DUP', '--fhir-user', 'Practitioner/2']), /already exists/);
    await assert.rejects(
      userCommand(database, ['add', '--tenant', tenant, '--username', 'y', '--fhir-user', 'Practitioner/1'], { env: {}, stdin: { isTTY: false } as NodeJS.ReadStream, out: () => undefined, prompt: () => undefined }),
      /HEARTH_NEW_USER_PASSWORD/,
    );
    await assert.rejects(run(['frobnicate', '--tenant', tenant]), /Usage/);
  });
});
