// Support for the SMART front-channel end-to-end tests (issue 10):
//   - startFrontChannelServer: a real HTTP server on 127.0.0.1 serving the front-channel router
//     (optionally beside other routers, e.g. the token side) below /fhir and /t/{tenant}/fhir,
//     on the test database, with the real FHIR service for the patient picker;
//   - FakeAuthorizationServer: an AuthorizationServerApi that records the grants it is given;
//   - BrowserAgent: a cookie-keeping fetch that reads forms the way a browser would;
//   - launchChromium: Debian's headless Chromium through playwright-core (never a download).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Router } from 'express';
import { createFrontChannelRouter } from '../../src/auth/front-channel.js';
import type { AuthDeps, AuthorizationGrant, AuthorizationServerApi, LaunchContext, OAuthClient } from '../../src/auth/contracts.js';
import type { AttemptLimiter, RequestLimiter } from '../../src/auth/rate-limit.js';
import { createAttemptLimiters } from '../../src/auth/rate-limit.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { UserStore, type User } from '../../src/auth/users/user-store.js';
import { createFhirService } from '../../src/compose.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { ANONYMOUS_ACCESS, type FhirRequest, type FhirResponse } from '../../src/core/types.js';
import type { FhirService } from '../../src/fhir/service.js';
import type { Database } from '../../src/storage/pg/database.js';
import { newTenant, testPool } from './database.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Records every grant it issues a code for; clients and launches are set by the test. */
export class FakeAuthorizationServer implements AuthorizationServerApi {
  readonly clients = new Map<string, OAuthClient>();
  readonly launches = new Map<string, LaunchContext>();
  readonly grants: { code: string; grant: AuthorizationGrant }[] = [];

  addClient(client: OAuthClient): OAuthClient {
    this.clients.set(`${client.tenantId}|${client.clientId}`, client);
    return client;
  }
  async findClient(tenantId: string, clientId: string) {
    return this.clients.get(`${tenantId}|${clientId}`);
  }
  async issueAuthorizationCode(grant: AuthorizationGrant) {
    const code = randomUUID();
    this.grants.push({ code, grant });
    return code;
  }
  async resolveLaunch(tenantId: string, launch: string) {
    return this.launches.get(`${tenantId}|${launch}`);
  }
  grantFor(code: string | null): AuthorizationGrant | undefined {
    return this.grants.find((g) => g.code === code)?.grant;
  }
}

export interface FrontChannelServer {
  origin: string;
  config: Config;
  database: Database;
  service: FhirService;
  users: UserStore;
  /** A fresh tenant and its FHIR base URL. */
  newTenant(): Promise<{ tenantId: string; base: string }>;
  baseOf(tenantId: string): string;
  addUser(tenantId: string, username: string, password: string, fhirUser: string, totpSecret?: string): Promise<User>;
  /** Runs a FHIR request as the administrator (seeding). */
  fhir(tenantId: string, method: 'GET' | 'POST' | 'PUT', path: string[], body?: unknown): Promise<FhirResponse>;
  close(): Promise<void>;
}

export interface FrontChannelServerOptions {
  authServer: (deps: AuthDeps) => AuthorizationServerApi;
  /** More routers mounted below each base, before the front channel (e.g. the token side). */
  routers?: (deps: AuthDeps) => Router[];
  /** Outer middleware/routes (e.g. the FHIR endpoint of a full server) after the routers. */
  after?: (app: express.Express, deps: AuthDeps) => void;
  env?: NodeJS.ProcessEnv;
  limiters?: { login?: AttemptLimiter; loginRequests?: RequestLimiter };
}

const basePathOf = (tenantId: string) => (tenantId === 'default' ? '/fhir' : `/t/${tenantId}/fhir`);

export async function startFrontChannelServer(options: FrontChannelServerOptions): Promise<FrontChannelServer> {
  const config = loadConfig({ HEARTH_HOST: '127.0.0.1', HEARTH_PORT: '0', LOG_LEVEL: 'silent', HEARTH_LOGIN_MAX_FAILURES: '3', ...options.env });
  const pool = await testPool();
  // The shared test pool stays open for other tests: closing this Database leaves it alone.
  const database: Database = { pool, mode: 'postgres', close: async () => undefined };
  const logger = createLogger(config.logLevel);
  const { service, maintenance } = createFhirService(config, database);
  const baseUrlFor = (req: Request, tenantId: string) => `${req.protocol}://${req.get('host')}${basePathOf(tenantId)}`;
  const deps: AuthDeps = { config, database, service, logger, baseUrlFor };
  const limiters = createAttemptLimiters(config, { prefix: `e2e-${randomUUID()}`, loginRequestsPerMinute: 10_000 });
  const app = express();
  app.disable('x-powered-by');
  const front = createFrontChannelRouter({
    ...deps,
    authServer: options.authServer(deps),
    limiters: { login: options.limiters?.login ?? limiters.login, loginRequests: options.limiters?.loginRequests ?? limiters.loginRequests },
  });
  for (const router of options.routers?.(deps) ?? []) app.use(['/fhir', '/t/:tenant/fhir'], router);
  app.use(['/fhir', '/t/:tenant/fhir'], front);
  options.after?.(app, deps);
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const users = new UserStore(pool);
  return {
    origin,
    config,
    database,
    service,
    users,
    async newTenant() {
      const tenantId = await newTenant(pool);
      return { tenantId, base: `${origin}${basePathOf(tenantId)}` };
    },
    baseOf: (tenantId) => `${origin}${basePathOf(tenantId)}`,
    async addUser(tenantId, username, password, fhirUser, totpSecret) {
      return users.create(tenantId, { username, passwordHash: await hashPassword(password), fhirUser, totpSecret });
    },
    fhir(tenantId, method, path, body) {
      const request: FhirRequest = {
        method,
        tenantId,
        baseUrl: `${origin}${basePathOf(tenantId)}`,
        path,
        query: new URLSearchParams(),
        prefer: {},
        access: ANONYMOUS_ACCESS,
        requestId: randomUUID(),
        ...(body === undefined ? {} : { body, bodyKind: 'resource' as const }),
      };
      return service.handle(request);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await limiters.close();
      await maintenance.close();
    },
  };
}

export interface PageResult {
  status: number;
  headers: Headers;
  html: string;
  location?: string;
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** A cookie-keeping HTTP client that never follows redirects by itself. */
export class BrowserAgent {
  private readonly cookies = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<PageResult> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair, ...attributes] = cookie.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, headers: res.headers, html: await res.text(), location: location ? new URL(location, url).toString() : undefined };
  }

  get(url: string): Promise<PageResult> {
    return this.request(url);
  }

  post(url: string, fields: [string, string][] | Record<string, string>): Promise<PageResult> {
    const body = new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields));
    return this.request(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }
  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }
}

/** The value of the CSRF field of the page's form. */
export function csrfOf(html: string): string {
  const m = /name="csrf_token" value="([^"]*)"/.exec(html);
  if (!m) throw new Error(`no CSRF field in the page:\n${html}`);
  return unescape(m[1]);
}

/** Where the "return to the app" page sends the browser. */
export function returnLocationOf(html: string): URL {
  const m = /id="return-to-app" href="([^"]*)"/.exec(html);
  if (!m) throw new Error(`not the return-to-app page:\n${html}`);
  return new URL(unescape(m[1]));
}

/** The patient ids the picker page lists, in order. */
export function pickerPatients(html: string): string[] {
  return [...html.matchAll(/data-patient-id="([^"]*)"/g)].map((m) => unescape(m[1]));
}

/** The href of an element with `id`. */
export function hrefOf(html: string, id: string): string | undefined {
  const m = new RegExp(`id="${id}" href="([^"]*)"`).exec(html);
  return m ? unescape(m[1]) : undefined;
}

/** Headless Chromium (Debian's package); tests skip nothing: a missing binary fails the test. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
}
