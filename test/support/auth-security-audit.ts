// A SMART authorization server (token side and front channel, the real ones on the test
// database) whose security audit sink is a fake that captures entries or fails on demand
// (issue 11 "Recording"), in an Express app on 127.0.0.1 that assigns request ids the way the
// HTTP layer does (res.locals.requestId from X-Request-Id).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { SecurityAuditEntry, SecurityAuditSink } from '../../src/audit/security-sink.js';
import type { AuthDeps, AuthorizationServerApi } from '../../src/auth/contracts.js';
import { createFrontChannelRouter } from '../../src/auth/front-channel.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { createAttemptLimiters } from '../../src/auth/rate-limit.js';
import { createAuthorizationServerApi, createTokenSideRouter } from '../../src/auth/token-side.js';
import { UserStore, type User } from '../../src/auth/users/user-store.js';
import { createFhirService } from '../../src/compose.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import type { Database } from '../../src/storage/pg/database.js';
import { newTenant, testPool } from './database.js';

export interface CapturedEntry {
  tenantId: string;
  tenantBase: string;
  entry: SecurityAuditEntry;
}

/** Captures what it is asked to record; throws instead while `failing`. */
export class CapturingSink implements SecurityAuditSink {
  readonly captured: CapturedEntry[] = [];
  failing = false;

  async record(tenantId: string, tenantBase: string, entry: SecurityAuditEntry): Promise<void> {
    if (this.failing) throw new Error('the audit trail is unavailable');
    this.captured.push({ tenantId, tenantBase, entry: structuredClone(entry) });
  }

  /** The entries of one tenant, in order. */
  of(tenantId: string): SecurityAuditEntry[] {
    return this.captured.filter((c) => c.tenantId === tenantId).map((c) => c.entry);
  }
}

/** A logger that keeps its error() calls (messages only). */
export class CapturingLogger {
  readonly errors: string[] = [];
  info() {}
  warn() {}
  debug() {}
  trace() {}
  fatal() {}
  error(_obj: unknown, message?: string) {
    this.errors.push(message ?? '');
  }
  child() {
    return this;
  }
}

export interface AuditedAuthServer {
  origin: string;
  config: Config;
  database: Database;
  sink: CapturingSink;
  logger: CapturingLogger;
  api: AuthorizationServerApi;
  baseOf(tenantId: string): string;
  newTenant(): Promise<string>;
  addUser(tenantId: string, username: string, password: string, fhirUser: string, totpSecret?: string): Promise<User>;
  close(): Promise<void>;
}

export async function startAuditedAuthServer(): Promise<AuditedAuthServer> {
  const config = loadConfig({ HEARTH_HOST: '127.0.0.1', HEARTH_PORT: '0', LOG_LEVEL: 'silent', HEARTH_LOGIN_MAX_FAILURES: '3' });
  const pool = await testPool();
  const database: Database = { pool, mode: 'postgres', close: async () => undefined };
  const { service, maintenance } = createFhirService(config, database, undefined, { analyzeAsWritten: false });
  const sink = new CapturingSink();
  const logger = new CapturingLogger();
  let origin = '';
  const baseOf = (tenantId: string) => `${origin}/t/${tenantId}/fhir`;
  const deps: AuthDeps = {
    config, database, service, logger: logger as never, audit: sink,
    baseUrlFor: (_req, tenantId) => baseOf(tenantId),
  };
  const limiters = createAttemptLimiters(config, { prefix: `audit-${randomUUID()}`, loginRequestsPerMinute: 10_000 });
  const api = createAuthorizationServerApi(deps);
  const app = express();
  app.disable('x-powered-by');
  // What src/http/app.ts does for every request.
  app.use((req, res, next) => {
    res.locals.requestId = req.get('x-request-id') ?? randomUUID();
    next();
  });
  app.use('/t/:tenant/fhir', createTokenSideRouter(deps));
  app.use('/t/:tenant/fhir', createFrontChannelRouter({ ...deps, authServer: api, limiters: { login: limiters.login, loginRequests: limiters.loginRequests } }));
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const users = new UserStore(pool);
  return {
    origin,
    config,
    database,
    sink,
    logger,
    api,
    baseOf,
    newTenant: () => newTenant(pool),
    async addUser(tenantId, username, password, fhirUser, totpSecret) {
      return users.create(tenantId, { username, passwordHash: await hashPassword(password), fhirUser, totpSecret });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await limiters.close();
      await maintenance.close();
    },
  };
}
