// SMART client helpers for everyone's tests: client key pairs (ES384, RS384) with their public
// JWKS, signed client assertions (RFC 7523 / SMART Backend Services) that a test may bend in
// every way an attacker would, PKCE pairs (RFC 7636), form posts, a tiny JWKS server for `jku`
// tests, and a server that mounts the token side's router on the test database (until the
// integrator's app does, and for tests that need to set res.locals.access themselves).
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { addClient, type StoredClient } from '../../src/auth/clients/client-store.js';
import type { NewClientInput } from '../../src/auth/clients/client-validation.js';
import type { AuthorizationServerApi } from '../../src/auth/contracts.js';
import { createAuthorizationServerApi, createTokenSideRouter, type TokenLimiter } from '../../src/auth/token-side.js';
import { inTenant } from '../../src/auth/tokens/sql.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import type { AccessContext } from '../../src/core/types.js';
import { createFhirService } from '../../src/compose.js';
import type { Database } from '../../src/storage/pg/database.js';
import { testPool } from './database.js';

export type AssertionAlg = 'ES384' | 'RS384';

export interface ClientKeys {
  alg: AssertionAlg;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  /** The public JWKS to register for the client. */
  jwks: { keys: JWK[] };
}

/** A fresh key pair for a confidential or backend-service client. */
export async function generateClientKeys(alg: AssertionAlg = 'ES384', kid: string = randomUUID()): Promise<ClientKeys> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicJwk, jwks: { keys: [publicJwk] } };
}

export interface AssertionOptions {
  clientId: string;
  /** The token endpoint URL (the assertion's aud). */
  aud: string | string[];
  keys: ClientKeys;
  /** Seconds from now; default 240. */
  expiresIn?: number;
  /** Omit exp entirely. */
  noExp?: boolean;
  /** jti; default a fresh UUID; null omits it. */
  jti?: string | null;
  /** Overrides of the payload (iss, sub, ...). */
  claims?: JWTPayload;
  /** Overrides of the protected header (jku, kid, typ...). */
  header?: Record<string, unknown>;
}

/** A signed client assertion (private_key_jwt). */
export async function signClientAssertion(options: AssertionOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { iss: options.clientId, sub: options.clientId, aud: options.aud, iat: now };
  if (!options.noExp) payload.exp = now + (options.expiresIn ?? 240);
  if (options.jti !== null) payload.jti = options.jti ?? randomUUID();
  Object.assign(payload, options.claims ?? {});
  return new SignJWT(payload)
    .setProtectedHeader({ alg: options.keys.alg, kid: options.keys.kid, typ: 'JWT', ...(options.header ?? {}) })
    .sign(options.keys.privateKey);
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** An unsigned JWT (`alg: none`). */
export function unsignedJwt(payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  return `${b64url(JSON.stringify({ alg: 'none', ...header }))}.${b64url(JSON.stringify(payload))}.`;
}

/** An HS256 JWT whose HMAC secret is `secret` (e.g. a public key's bytes: algorithm confusion). */
export function hs256Jwt(payload: Record<string, unknown>, secret: string | Buffer, header: Record<string, unknown> = {}): string {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', ...header }))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A PKCE verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface FormResult {
  status: number;
  headers: Headers;
  body: any;
}

/** POSTs an application/x-www-form-urlencoded body and parses the JSON answer. */
export async function postForm(url: string, form: Record<string, string | undefined>, headers: Record<string, string> = {}): Promise<FormResult> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.append(k, v);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: body.toString() });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** A JWKS served over HTTP on 127.0.0.1 (for jku / jwks_uri); counts its requests. */
export async function serveJwks(jwks: { keys: JWK[] }): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let count = 0;
  const server: Server = createServer((_req, res) => {
    count++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    requests: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Header through which token-side test servers take the caller's AccessContext (JSON). */
export const TEST_ACCESS_HEADER = 'x-test-access';

export interface TokenSideServer {
  origin: string;
  database: Database;
  config: Config;
  /** The FHIR base of a tenant on this server. */
  baseOf(tenantId: string): string;
  /** The token side's API for the front channel (issue codes, resolve launches) on this database. */
  api: AuthorizationServerApi;
  close(): Promise<void>;
}

/**
 * An Express app on 127.0.0.1 with only the token side mounted below /fhir and /t/{tenant}/fhir,
 * on the migrated test database. A request may carry its AccessContext as JSON in
 * TEST_ACCESS_HEADER (what the integrator's authentication middleware sets in res.locals.access).
 * Requests the token side does not answer fall through to a handler answering 299 {fellThrough: true}.
 */
export async function startTokenSideServer(overrides: Partial<Config> = {}, limiter?: TokenLimiter): Promise<TokenSideServer> {
  const pool = await testPool();
  const database: Database = { pool, mode: 'postgres', close: async () => undefined };
  const config = loadConfig({ LOG_LEVEL: 'silent', HEARTH_HOST: '127.0.0.1' }, overrides);
  const { service } = createFhirService(config, database, undefined, { analyzeAsWritten: false });
  let origin = '';
  const baseOf = (tenantId: string) => (tenantId === 'default' ? `${origin}/fhir` : `${origin}/t/${tenantId}/fhir`);
  const app = express();
  app.use((req, res, next) => {
    const access = req.get(TEST_ACCESS_HEADER);
    if (access) res.locals.access = JSON.parse(access) as AccessContext;
    next();
  });
  const logger = { info() {}, warn() {}, error() {}, debug() {} } as never;
  const deps = { config, database, service, logger, baseUrlFor: (_req: unknown, tenantId: string) => baseOf(tenantId) };
  app.use(['/fhir', '/t/:tenant/fhir'], createTokenSideRouter({ ...deps, limiter }));
  const api = createAuthorizationServerApi(deps);
  // What the FHIR handler would get: requests the token side does not answer fall through.
  app.use((_req, res) => {
    res.status(299).json({ fellThrough: true });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    database,
    config,
    baseOf,
    api,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Registers a client directly in the store (what `hearth client add` does). */
export function registerClient(database: Database, tenantId: string, input: NewClientInput): Promise<StoredClient> {
  return inTenant(database, tenantId, (sql) => addClient(sql, tenantId, input));
}
