// The JSON of a sync destination (src/auth/admin/destination-input.ts): defaults, normalisation,
// every refusal naming its field, criteria the in-memory matcher cannot evaluate, private keys
// tried before they are accepted, and views that never show a secret.
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair } from 'jose';
import { DestinationInputError, destinationView, parseDestinationInput } from '../../../src/auth/admin/destination-input.js';
import type { SyncDestination } from '../../../src/storage/delivery-store.js';

const base = { id: 'iis', endpoint: 'https://iis.example.org/fhir/', resourceTypes: ['Immunization'] };

async function privateJwk(alg: 'ES384' | 'RS384' = 'ES384', kid = 'k1'): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid };
}

async function refusedField(body: unknown): Promise<string> {
  try {
    await parseDestinationInput(body);
  } catch (error) {
    assert.ok(error instanceof DestinationInputError, String(error));
    assert.ok(error.message.startsWith(`${error.field}: `), error.message);
    return error.field;
  }
  assert.fail(`accepted ${JSON.stringify(body)}`);
}

describe('destination input', () => {
  it('applies the defaults and drops the trailing slash of the endpoint', async () => {
    assert.deepEqual(await parseDestinationInput(base), {
      id: 'iis', endpoint: 'https://iis.example.org/fhir', resourceTypes: ['Immunization'], criteria: [], auth: { kind: 'none' }, mode: 'put', transport: 'fhir', enabled: true,
    });
    const full = await parseDestinationInput({
      ...base, resourceTypes: ['Immunization', 'Patient', 'Immunization'], criteria: ['Immunization?status=completed&vaccine-code=http://hl7.org/fhir/sid/cvx|207'],
      auth: { kind: 'bearer', token: ' abc ' }, mode: 'conditional', enabled: false,
    });
    assert.deepEqual(full.resourceTypes, ['Immunization', 'Patient']);
    assert.deepEqual(full.auth, { kind: 'bearer', token: 'abc' });
    assert.equal(full.mode, 'conditional');
    assert.equal(full.enabled, false);
  });

  it('refuses bad input naming the field', async () => {
    const cases: [unknown, string][] = [
      [[], '(body)'],
      [{ ...base, id: 'has space' }, 'id'],
      [{ ...base, id: 'x'.repeat(65) }, 'id'],
      [{ ...base, endpoint: 'iis.example.org/fhir' }, 'endpoint'],
      [{ ...base, endpoint: 'ftp://iis.example.org/fhir' }, 'endpoint'],
      [{ ...base, endpoint: 'https://user:pw@iis.example.org/fhir' }, 'endpoint'],
      [{ ...base, endpoint: 'https://iis.example.org/fhir?x=1' }, 'endpoint'],
      [{ ...base, resourceTypes: [] }, 'resourceTypes'],
      [{ ...base, resourceTypes: 'Immunization' }, 'resourceTypes'],
      [{ ...base, resourceTypes: ['Immunization', 'Vaccination'] }, 'resourceTypes[1]'],
      [{ ...base, criteria: 'Immunization?status=completed' }, 'criteria'],
      [{ ...base, criteria: ['Patient?name=x'] }, 'criteria[0]'],
      [{ ...base, criteria: ['Immunization'] }, 'criteria[0]'],
      [{ ...base, criteria: ['Immunization?nonsense=1'] }, 'criteria[0]'],
      [{ ...base, criteria: ['Immunization?status=completed', 'Immunization?patient.name=x'] }, 'criteria[1]'],
      [{ ...base, criteria: ['Immunization?_has:Patient:link:name=x'] }, 'criteria[0]'],
      [{ ...base, criteria: ['Immunization?_sort=date'] }, 'criteria[0]'],
      [{ ...base, auth: 'bearer' }, 'auth'],
      [{ ...base, auth: { kind: 'basic' } }, 'auth.kind'],
      [{ ...base, auth: { kind: 'bearer' } }, 'auth.token'],
      [{ ...base, auth: { kind: 'none', token: 'x' } }, 'auth.token'],
      [{ ...base, auth: { kind: 'smart-backend', clientId: 'c', scope: 's', privateJwk: {} } }, 'auth.tokenUrl'],
      [{ ...base, mode: 'post' }, 'mode'],
      [{ ...base, transport: 'hl7v2' }, 'transport'],
      [{ ...base, enabled: 'yes' }, 'enabled'],
      [{ ...base, resourceType: 'Immunization' }, 'resourceType'],
    ];
    for (const [body, field] of cases) assert.equal(await refusedField(body), field, JSON.stringify(body));
  });

  it('accepts a SMART Backend Services key that signs, refuses public, symmetric and mismatched keys', async () => {
    const jwk = await privateJwk('ES384');
    const smart = { kind: 'smart-backend', tokenUrl: 'https://iis.example.org/auth/token', clientId: 'hearth', scope: 'system/Immunization.cu', privateJwk: jwk };
    const parsed = await parseDestinationInput({ ...base, auth: smart });
    assert.deepEqual(parsed.auth, smart);
    const rsa = await privateJwk('RS384');
    assert.equal((await parseDestinationInput({ ...base, auth: { ...smart, privateJwk: rsa, alg: 'RS512' } })).auth.kind, 'smart-backend');
    const { d: _d, ...publicOnly } = jwk;
    const cases: [Record<string, unknown>, string][] = [
      [{ ...smart, privateJwk: publicOnly }, 'auth.privateJwk'],
      [{ ...smart, privateJwk: { kty: 'oct', k: 'c2VjcmV0' } }, 'auth.privateJwk'],
      [{ ...smart, privateJwk: { ...jwk, d: 'AAAA' } }, 'auth.privateJwk'],
      [{ ...smart, alg: 'RS384' }, 'auth.privateJwk'],
      [{ ...smart, alg: 'HS256' }, 'auth.alg'],
      [{ ...smart, privateJwk: 'not a key' }, 'auth.privateJwk'],
      [{ ...smart, clientId: '' }, 'auth.clientId'],
      [{ ...smart, scope: undefined }, 'auth.scope'],
      [{ ...smart, tokenUrl: 'not a url' }, 'auth.tokenUrl'],
    ];
    for (const [auth, field] of cases) assert.equal(await refusedField({ ...base, auth }), field, JSON.stringify(auth).slice(0, 200));
  });

  it('shows a destination without its bearer token or private key', async () => {
    const jwk = await privateJwk('ES384', 'key-2024');
    const destination = (auth: SyncDestination['auth']): SyncDestination => ({
      tenantId: 't', id: 'iis', endpoint: 'https://iis.example.org/fhir', resourceTypes: ['Immunization'], criteria: [], auth, mode: 'put', transport: 'fhir', enabled: true, createdAt: new Date(0),
    });
    const bearer = await destinationView(destination({ kind: 'bearer', token: 'very-secret' }));
    assert.deepEqual(bearer.auth, { kind: 'bearer' });
    assert.ok(!JSON.stringify(bearer).includes('very-secret'));
    const smart = await destinationView(destination({ kind: 'smart-backend', tokenUrl: 'https://iis.example.org/token', clientId: 'hearth', scope: 'system/Immunization.cu', privateJwk: jwk }));
    const auth = smart.auth as Record<string, unknown>;
    assert.equal(auth.kid, 'key-2024');
    assert.equal(auth.clientId, 'hearth');
    assert.match(String(auth.thumbprint), /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!JSON.stringify(smart).includes(String(jwk.d)), 'no private key member');
    assert.equal(smart.createdAt, '1970-01-01T00:00:00.000Z');
  });
});
