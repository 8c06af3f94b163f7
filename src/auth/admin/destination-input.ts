// The JSON of a sync destination (issue 13, docs/sync-admin.md), both ways: what the admin API and
// `hearth sync add` accept, parsed and validated into a DestinationInput (every error names its
// field), and what they show, without secrets. A destination's criteria are FHIR searches
// (R4 search.html) that the outbox matches in memory (src/search/criteria-match.ts): one the
// matcher cannot evaluate is refused here rather than silently never matching. Its SMART Backend
// Services key (SMART App Launch 2.x backend-services.html; RFC 7517 JWK, RFC 7515 JWS algorithms)
// is imported and tried once, so a key that cannot sign is refused at configuration, not at the
// first delivery.
import { calculateJwkThumbprint, importJWK, SignJWT, type JWK } from 'jose';
import { FhirError } from '../../core/errors.js';
import { isResourceType } from '../../core/resource-types.js';
import { compileCriteria } from '../../search/criteria-match.js';
import { createSearchRegistry, type SearchRegistry } from '../../search/registry/registry.js';
import type { DestinationAuth, DestinationInput, SyncDestination, SyncMode } from '../../storage/delivery-store.js';

/** A destination's JSON that is not acceptable; `field` names the offending member (e.g. `auth.privateJwk`). */
export class DestinationInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const ID = /^[A-Za-z0-9.-]{1,64}$/;
const FIELDS = new Set(['id', 'endpoint', 'resourceTypes', 'criteria', 'auth', 'mode', 'transport', 'enabled']);
const MODES: readonly SyncMode[] = ['put', 'conditional'];
/** Transports that exist (src/jobs/transport); an HL7 v2 one may join later. */
const TRANSPORTS = ['fhir'];
/** Asymmetric JWS algorithms (RFC 7518 section 3.1, RFC 8037): a destination's key signs client assertions. */
const SIGNING_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']);
/** JWK members that are secret (RFC 7518 section 6.2.2, 6.3.2, 6.4; RFC 8037): never shown. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

let registry: SearchRegistry | undefined;
/** The R4 search parameters, built on first use (a destination's criteria are checked rarely). */
const searchRegistry = (): SearchRegistry => (registry ??= createSearchRegistry());

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new DestinationInputError(field, 'a non-empty string is required');
  if (value.length > 4096) throw new DestinationInputError(field, 'is longer than 4096 characters');
  return value.trim();
}

/** An absolute http(s) URL without credentials, query or fragment; trailing slashes dropped. */
function httpUrl(value: unknown, field: string): string {
  const raw = text(value, field);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationInputError(field, 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DestinationInputError(field, 'must be an absolute http or https URL');
  // Credentials in the URL would be shown by every listing: they belong in `auth`.
  if (url.username !== '' || url.password !== '') throw new DestinationInputError(field, 'must not carry credentials (use auth)');
  if (url.search !== '' || url.hash !== '') throw new DestinationInputError(field, 'must have no query or fragment');
  return url.href.replace(/\/+$/, '');
}

function resourceTypes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new DestinationInputError('resourceTypes', 'a non-empty array of resource types is required');
  const types: string[] = [];
  value.forEach((t, i) => {
    if (typeof t !== 'string' || !isResourceType(t)) throw new DestinationInputError(`resourceTypes[${i}]`, `${JSON.stringify(t).slice(0, 70)} is not an R4 resource type`);
    if (!types.includes(t)) types.push(t);
  });
  return types;
}

function criteriaList(value: unknown, types: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new DestinationInputError('criteria', 'must be an array of Type?query strings');
  return value.map((c, i) => {
    const field = `criteria[${i}]`;
    const criteria = text(c, field);
    const type = criteria.split('?')[0];
    if (!criteria.includes('?') || !types.includes(type)) {
      throw new DestinationInputError(field, `must start with one of the destination's resource types (${types.join(', ')}) and '?'`);
    }
    try {
      compileCriteria(searchRegistry(), criteria);
    } catch (error) {
      if (error instanceof FhirError) throw new DestinationInputError(field, error.message);
      throw error;
    }
    return criteria;
  });
}

/** The JWS algorithm a key signs with: the one given, the key's own, or the SMART defaults RS384 (RSA) and ES384 (EC). */
function signingAlg(jwk: JWK, alg: unknown): string {
  if (alg !== undefined && (typeof alg !== 'string' || !SIGNING_ALGS.has(alg))) {
    throw new DestinationInputError('auth.alg', `must be one of ${[...SIGNING_ALGS].join(', ')}`);
  }
  const chosen = (alg as string | undefined) ?? jwk.alg ?? (jwk.kty === 'RSA' ? 'RS384' : jwk.kty === 'EC' ? 'ES384' : undefined);
  if (chosen === undefined) throw new DestinationInputError('auth.alg', `is required for a ${String(jwk.kty)} key`);
  if (!SIGNING_ALGS.has(chosen)) throw new DestinationInputError('auth.privateJwk', `alg ${chosen} is not an asymmetric signing algorithm`);
  return chosen;
}

/** Imports the private key and signs once with it: what the transport will do for every token. */
async function checkPrivateJwk(value: unknown, alg: unknown): Promise<{ jwk: Record<string, unknown>; alg?: string }> {
  if (!isObject(value)) throw new DestinationInputError('auth.privateJwk', 'a private JWK (a JSON object) is required');
  const jwk = value as JWK;
  if (typeof jwk.kty !== 'string') throw new DestinationInputError('auth.privateJwk', 'has no kty');
  if (typeof jwk.d !== 'string' || jwk.d === '') throw new DestinationInputError('auth.privateJwk', "must be a private key (it has no 'd')");
  const chosen = signingAlg(jwk, alg);
  try {
    const key = await importJWK(jwk, chosen);
    await new SignJWT({}).setProtectedHeader({ alg: chosen }).sign(key);
  } catch (error) {
    throw new DestinationInputError('auth.privateJwk', `cannot sign with ${chosen}: ${(error as Error).message}`);
  }
  return { jwk: value, ...(alg !== undefined ? { alg: chosen } : {}) };
}

async function authOf(value: unknown): Promise<DestinationAuth> {
  if (value === undefined || value === null) return { kind: 'none' };
  if (!isObject(value)) throw new DestinationInputError('auth', 'must be an object with a kind');
  const allowed = (names: string[]) => {
    for (const key of Object.keys(value)) if (!names.includes(key)) throw new DestinationInputError(`auth.${key}`, `is not a member of ${String(value.kind)} auth`);
  };
  switch (value.kind) {
    case 'none':
      allowed(['kind']);
      return { kind: 'none' };
    case 'bearer':
      allowed(['kind', 'token']);
      if (typeof value.token !== 'string' || value.token.trim() === '' || /\s/.test(value.token.trim())) {
        throw new DestinationInputError('auth.token', 'a bearer token (no spaces) is required');
      }
      return { kind: 'bearer', token: value.token.trim() };
    case 'smart-backend': {
      allowed(['kind', 'tokenUrl', 'clientId', 'scope', 'privateJwk', 'alg']);
      const tokenUrl = httpUrl(value.tokenUrl, 'auth.tokenUrl');
      const clientId = text(value.clientId, 'auth.clientId');
      const scope = text(value.scope, 'auth.scope');
      const key = await checkPrivateJwk(value.privateJwk, value.alg);
      return { kind: 'smart-backend', tokenUrl, clientId, scope, privateJwk: key.jwk, ...(key.alg ? { alg: key.alg } : {}) };
    }
    default:
      throw new DestinationInputError('auth.kind', "must be 'none', 'bearer' or 'smart-backend'");
  }
}

/** A destination's JSON (admin API body, or what `hearth sync add` built from its options), validated. */
export async function parseDestinationInput(body: unknown): Promise<DestinationInput> {
  if (!isObject(body)) throw new DestinationInputError('(body)', 'must be a JSON object');
  for (const key of Object.keys(body)) if (!FIELDS.has(key)) throw new DestinationInputError(key, 'is not a member of a destination');
  if (typeof body.id !== 'string' || !ID.test(body.id)) throw new DestinationInputError('id', "1 to 64 of A-Z, a-z, 0-9, '-' and '.' are required");
  const endpoint = httpUrl(body.endpoint, 'endpoint');
  const types = resourceTypes(body.resourceTypes);
  const criteria = criteriaList(body.criteria, types);
  const mode = body.mode ?? 'put';
  if (!MODES.includes(mode as SyncMode)) throw new DestinationInputError('mode', `must be ${MODES.map((m) => `'${m}'`).join(' or ')}`);
  const transport = body.transport ?? 'fhir';
  if (typeof transport !== 'string' || !TRANSPORTS.includes(transport)) throw new DestinationInputError('transport', `must be ${TRANSPORTS.map((t) => `'${t}'`).join(' or ')}`);
  const enabled = body.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new DestinationInputError('enabled', 'must be true or false');
  const auth = await authOf(body.auth);
  return { id: body.id, endpoint, resourceTypes: types, criteria, auth, mode: mode as SyncMode, transport, enabled };
}

/** A destination's auth as shown: its kind, and for SMART Backend Services where and as whom, with the public key's kid and thumbprint. */
export async function authView(auth: DestinationAuth): Promise<Record<string, unknown>> {
  if (auth.kind !== 'smart-backend') return { kind: auth.kind };
  const jwk = auth.privateJwk as JWK;
  const publicJwk = Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k))) as JWK;
  let thumbprint: string | null = null;
  try {
    // RFC 7638: computed over the required public members only.
    thumbprint = await calculateJwkThumbprint(publicJwk, 'sha256');
  } catch {
    thumbprint = null;
  }
  return {
    kind: auth.kind,
    tokenUrl: auth.tokenUrl,
    clientId: auth.clientId,
    scope: auth.scope,
    kid: typeof jwk.kid === 'string' ? jwk.kid : null,
    alg: auth.alg ?? (typeof jwk.alg === 'string' ? jwk.alg : null),
    thumbprint,
  };
}

/** A destination as the admin API and `hearth sync list --json` show it: no bearer token, no private key. */
export async function destinationView(d: SyncDestination): Promise<Record<string, unknown>> {
  return {
    id: d.id,
    endpoint: d.endpoint,
    resourceTypes: [...d.resourceTypes],
    criteria: [...d.criteria],
    auth: await authView(d.auth),
    mode: d.mode,
    transport: d.transport,
    enabled: d.enabled,
    createdAt: d.createdAt.toISOString(),
  };
}
