// Assembles SMART for the HTTP server (issue 10): the authenticator that turns bearer tokens
// into access contexts, and the routers of the authorization server and the admin API. The
// composition of the auth parts lives here so that src/server.ts stays a list of components.
import type { Router } from 'express';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { FhirService } from '../fhir/service.js';
import { decideAuthMode } from '../http/auth-mode.js';
import { Authenticator, type HearthTokenVerifier } from '../http/authenticate.js';
import type { Database } from '../storage/pg/database.js';
import { ExternalIssuer } from './external-issuer.js';

export interface AuthComponents {
  authenticator: Authenticator;
  routers: Router[];
  /** Said at start-up when the server runs without authentication. */
  warning?: string;
  close(): Promise<void>;
}

export function createAuthComponents(config: Config, _database: Database, _service: FhirService, _logger: Logger): AuthComponents {
  const decision = decideAuthMode(config);
  const verifyHearthToken: HearthTokenVerifier = async () => {
    throw new Error('this server issues no tokens yet');
  };
  const external = config.oidcIssuer ? new ExternalIssuer(config.oidcIssuer, config) : undefined;
  const authenticator = new Authenticator({ mode: decision.mode, verifyHearthToken, external });
  return { authenticator, routers: [], warning: decision.warning, close: async () => undefined };
}
