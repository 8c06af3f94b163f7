// The SMART front channel's tables on real PostgreSQL (migration 0012): users, the sign-in
// policy and authorization sessions live under row-level security (tenant A's rows invisible to
// tenant B), usernames are unique per tenant case-insensitively, a TOTP step is accepted once,
// and a session moves forward only from the stage it is at, once, and not after it expires.
import assert from 'node:assert/strict';
import type pg from 'pg';
import { SessionStore, type AuthorizationRequest } from '../../src/auth/authorize/session-store.js';
import { UserExistsError, UserStore } from '../../src/auth/users/user-store.js';
import { inTenantTransaction } from '../../src/storage/pg/tenant-session.js';
import { newTenant, testPool } from '../support/database.js';
import { requireServices } from '../support/services.js';

const REQUEST: AuthorizationRequest = {
  clientId: 'app',
  clientName: 'App',
  redirectUri: 'https://app.example/cb',
  state: 's',
  scope: 'patient/*.rs',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  needsPatient: true,
};

describe('SMART users and sessions (integration)', function () {
  let pool: pg.Pool;
  let users: UserStore;
  before(async function () {
    await requireServices(this);
    pool = await testPool();
    users = new UserStore(pool);
  });

  it("tenant A's user is invisible to tenant B, through the store and through raw SQL as the app role", async () => {
    const a = await newTenant(pool);
    const b = await newTenant(pool);
    const alice = await users.create(a, { username: 'Alice', passwordHash: 'scrypt$x', fhirUser: 'Practitioner/1' });
    assert.equal((await users.findByUsername(a, 'alice'))?.id, alice.id);
    assert.equal(await users.findByUsername(b, 'alice'), undefined);
    assert.equal(await users.findById(b, alice.id), undefined);
    assert.deepEqual(await users.list(b), []);
    for (const table of ['smart_user', 'smart_auth_policy', 'authorization_session']) {
      const rows = await inTenantTransaction(pool, b, async (client) => (await client.query(`SELECT tenant_id FROM ${table}`)).rows);
      assert.ok(rows.every((r) => r.tenant_id === b), `${table}: only tenant ${b}`);
    }
    const smuggled = inTenantTransaction(pool, b, (client) =>
      client.query(`INSERT INTO smart_user (tenant_id, id, username, username_key, password_hash, fhir_user) VALUES ($1, 'x', 'x', 'x', 'h', 'Patient/1')`, [a]),
    );
    await assert.rejects(smuggled, /row-level security/);
  });

  it('usernames are unique per tenant regardless of case, and may repeat across tenants', async () => {
    const a = await newTenant(pool);
    const b = await newTenant(pool);
    await users.create(a, { username: 'Bob', passwordHash: 'h', fhirUser: 'Practitioner/2' });
    await assert.rejects(users.create(a, { username: 'bOB', passwordHash: 'h', fhirUser: 'Practitioner/3' }), UserExistsError);
    await users.create(b, { username: 'bob', passwordHash: 'h', fhirUser: 'Practitioner/2' });
    await assert.rejects(users.create(a, { username: 'bad name', passwordHash: 'h', fhirUser: 'Practitioner/2' }), RangeError);
    await assert.rejects(users.create(a, { username: 'carol', passwordHash: 'h', fhirUser: 'Observation/2' }), RangeError);
  });

  it('a TOTP step is accepted once, and never an earlier one', async () => {
    const a = await newTenant(pool);
    const u = await users.create(a, { username: 'dana', passwordHash: 'h', fhirUser: 'Patient/9', totpSecret: 'JBSWY3DPEHPK3PXP' });
    assert.equal(await users.acceptTotpStep(a, u.id, 100), true);
    assert.equal(await users.acceptTotpStep(a, u.id, 100), false);
    assert.equal(await users.acceptTotpStep(a, u.id, 99), false);
    assert.equal(await users.acceptTotpStep(a, u.id, 101), true);
    assert.equal((await users.findById(a, u.id))?.totpLastStep, 101);
  });

  it('the sign-in policy is per tenant', async () => {
    const a = await newTenant(pool);
    const b = await newTenant(pool);
    assert.deepEqual(await users.authPolicy(a), { requireTotp: false });
    await users.setAuthPolicy(a, { requireTotp: true });
    assert.deepEqual(await users.authPolicy(a), { requireTotp: true });
    assert.deepEqual(await users.authPolicy(b), { requireTotp: false });
  });

  it('a session is found by its id in its tenant only, advances once per stage, and is consumed once', async () => {
    const a = await newTenant(pool);
    const b = await newTenant(pool);
    const sessions = new SessionStore(pool);
    const { id, session } = await sessions.create(a, REQUEST);
    assert.deepEqual((await sessions.find(a, id))?.request, REQUEST);
    assert.equal(await sessions.find(b, id), undefined);
    assert.equal(await sessions.find(a, 'x'.repeat(43)), undefined);
    const next = await sessions.advance(session, 'login', { stage: 'patient', userId: 'u1', fhirUser: 'Practitioner/1', authTime: 5 });
    assert.ok(next);
    assert.notEqual(next.csrfToken, session.csrfToken, 'a new CSRF token at each step');
    assert.equal(await sessions.advance(session, 'login', { stage: 'consent' }), undefined, 'not twice from the same stage');
    const atConsent = await sessions.advance(next, 'patient', { stage: 'consent', patient: 'p1' });
    assert.deepEqual({ user: atConsent?.userId, patient: atConsent?.patient, authTime: atConsent?.authTime }, { user: 'u1', patient: 'p1', authTime: 5 });
    assert.equal(await sessions.consume(atConsent!, 'consent'), true);
    assert.equal(await sessions.consume(atConsent!, 'consent'), false);
    assert.equal(await sessions.find(a, id), undefined, 'a consumed session is gone');
  });

  it('an expired session is not found and cannot advance', async () => {
    const a = await newTenant(pool);
    const sessions = new SessionStore(pool, 1);
    const { id, session } = await sessions.create(a, REQUEST);
    await inTenantTransaction(pool, a, (client) => client.query(`UPDATE authorization_session SET expires_at = now() - interval '1 second'`));
    assert.equal(await sessions.find(a, id), undefined);
    assert.equal(await sessions.advance(session, 'login', { stage: 'consent' }), undefined);
  });
});
