// Whether FHIR requests need a bearer token (issue 10; docs/security.md "When tokens are
// required"). Decided once at start-up from HEARTH_AUTH, the listen address and the database:
// auth is required whenever Hearth is reachable beyond loopback or holds its data in an external
// PostgreSQL, unless the operator opts out explicitly on loopback (test rigs, local tools).
import { isIP } from 'node:net';
import { ConfigError, type Config } from '../core/config.js';

export type AuthMode = 'required' | 'open';

/** 127.0.0.0/8, ::1 and `localhost`: only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(bare);
  return false;
}

export interface AuthModeDecision {
  mode: AuthMode;
  /** Said loudly at start-up when the server runs open. */
  warning?: string;
}

export function decideAuthMode(config: Pick<Config, 'auth' | 'host' | 'databaseUrl'>): AuthModeDecision {
  const loopback = isLoopbackHost(config.host);
  const embedded = config.databaseUrl === undefined;
  if (config.auth === 'required') return { mode: 'required' };
  if (config.auth === 'off') {
    if (!loopback) {
      throw new ConfigError(
        `Invalid configuration: HEARTH_AUTH=off is refused when listening on ${config.host}; ` +
          'an open server must listen on loopback only (HEARTH_HOST=127.0.0.1)',
      );
    }
    return { mode: 'open', warning: openWarning(embedded ? 'HEARTH_AUTH=off' : 'HEARTH_AUTH=off, with an external database') };
  }
  // auto: the embedded quick start on loopback runs open; anything else requires tokens.
  if (loopback && embedded) return { mode: 'open', warning: openWarning('the embedded quick start on loopback') };
  return { mode: 'required' };
}

function openWarning(why: string): string {
  return (
    `AUTHENTICATION IS OFF (${why}): every caller on this machine is an administrator of every tenant. ` +
    'Set HEARTH_AUTH=required (or DATABASE_URL / HEARTH_HOST beyond loopback, which require it) before holding real patient data.'
  );
}
