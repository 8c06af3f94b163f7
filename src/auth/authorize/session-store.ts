// The authorization session (SMART App Launch 2.x app-launch.html, "obtain authorization
// code"): a validated authorize request kept server-side, in the tenant table
// authorization_session (migration 0012, row-level security), between the authorize endpoint
// and the code or refusal it ends in. The browser holds only an opaque random id in a cookie;
// the table stores its SHA-256. A session lives SESSION_TTL_SECONDS; each page moves it one
// stage forward with a conditional UPDATE (stage, not consumed, not expired) that also replaces
// its CSRF token, and the final decision consumes it, so it is used once. Expired rows of the
// tenant are purged when a new session starts.
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '../../storage/pg/database.js';
import { inTenantTransaction } from '../../storage/pg/tenant-session.js';
import { newCsrfToken } from '../csrf.js';

type Pool = Database['pool'];

export const SESSION_TTL_SECONDS = 600;

export type SessionStage = 'login' | 'totp' | 'patient' | 'consent';

/** What the authorize endpoint validated; nothing in it is trusted from the browser afterwards. */
export interface AuthorizationRequest {
  clientId: string;
  /** The client's display name, for the pages. */
  clientName: string;
  redirectUri: string;
  state: string;
  /** Requested scopes the client may have (space-separated); the consent page offers these. */
  scope: string;
  codeChallenge: string;
  nonce?: string;
  /** EHR launch context from the `launch` parameter. */
  launch?: { patient?: string; encounter?: string; userId?: string };
  /** A patient must be chosen (standalone launch/patient, or patient scopes without a launch patient). */
  needsPatient: boolean;
}

export interface AuthorizationSession {
  tenantId: string;
  idHash: string;
  request: AuthorizationRequest;
  stage: SessionStage;
  userId?: string;
  fhirUser?: string;
  /** Seconds since the epoch when the user authenticated. */
  authTime?: number;
  patient?: string;
  csrfToken: string;
  expiresAt: Date;
}

/** What a step records when it moves the session on. */
export interface SessionAdvance {
  stage: SessionStage;
  userId?: string;
  fhirUser?: string;
  authTime?: number;
  patient?: string;
}

interface SessionRow {
  tenant_id: string;
  id_hash: string;
  request: AuthorizationRequest;
  stage: SessionStage;
  user_id: string | null;
  fhir_user: string | null;
  auth_time: number | string | null;
  patient: string | null;
  csrf_token: string;
  expires_at: Date;
}

const COLUMNS = 'tenant_id, id_hash, request, stage, user_id, fhir_user, auth_time, patient, csrf_token, expires_at';
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('base64url');

function toSession(row: SessionRow): AuthorizationSession {
  const session: AuthorizationSession = {
    tenantId: row.tenant_id,
    idHash: row.id_hash,
    request: row.request,
    stage: row.stage,
    csrfToken: row.csrf_token,
    expiresAt: row.expires_at,
  };
  if (row.user_id !== null) session.userId = row.user_id;
  if (row.fhir_user !== null) session.fhirUser = row.fhir_user;
  if (row.auth_time !== null) session.authTime = Number(row.auth_time);
  if (row.patient !== null) session.patient = row.patient;
  return session;
}

export class SessionStore {
  constructor(
    private readonly pool: Pool,
    private readonly ttlSeconds = SESSION_TTL_SECONDS,
  ) {}

  /** Starts a session at the login stage; returns the id for the browser's cookie. */
  async create(tenantId: string, request: AuthorizationRequest): Promise<{ id: string; session: AuthorizationSession }> {
    const id = randomBytes(32).toString('base64url');
    const session = await inTenantTransaction(this.pool, tenantId, async (client) => {
      await client.query('DELETE FROM authorization_session WHERE tenant_id = $1 AND expires_at < now()', [tenantId]);
      const { rows } = await client.query<SessionRow>(
        `INSERT INTO authorization_session (tenant_id, id_hash, request, stage, csrf_token, expires_at)
         VALUES ($1, $2, $3, 'login', $4, now() + make_interval(secs => $5)) RETURNING ${COLUMNS}`,
        [tenantId, hashSessionId(id), JSON.stringify(request), newCsrfToken(), this.ttlSeconds],
      );
      return toSession(rows[0]);
    });
    return { id, session };
  }

  /** The live session (not expired, not consumed) the browser's id names, or undefined. */
  async find(tenantId: string, id: string | undefined): Promise<AuthorizationSession | undefined> {
    if (!id || !SESSION_ID.test(id)) return undefined;
    return inTenantTransaction(
      this.pool,
      tenantId,
      async (client) => {
        const { rows } = await client.query<SessionRow>(
          `SELECT ${COLUMNS} FROM authorization_session
           WHERE tenant_id = $1 AND id_hash = $2 AND consumed_at IS NULL AND expires_at > now()`,
          [tenantId, hashSessionId(id)],
        );
        return rows[0] ? toSession(rows[0]) : undefined;
      },
      { readOnly: true },
    );
  }

  /**
   * Moves a live session from stage `from` on, with a new CSRF token; undefined when it is no
   * longer at `from` (a concurrent or repeated POST), expired or consumed.
   */
  async advance(session: AuthorizationSession, from: SessionStage, to: SessionAdvance): Promise<AuthorizationSession | undefined> {
    return inTenantTransaction(this.pool, session.tenantId, async (client) => {
      const { rows } = await client.query<SessionRow>(
        `UPDATE authorization_session
         SET stage = $4, user_id = COALESCE($5, user_id), fhir_user = COALESCE($6, fhir_user),
             auth_time = COALESCE($7, auth_time), patient = COALESCE($8, patient), csrf_token = $9
         WHERE tenant_id = $1 AND id_hash = $2 AND stage = $3 AND consumed_at IS NULL AND expires_at > now()
         RETURNING ${COLUMNS}`,
        [session.tenantId, session.idHash, from, to.stage, to.userId ?? null, to.fhirUser ?? null, to.authTime ?? null, to.patient ?? null, newCsrfToken()],
      );
      return rows[0] ? toSession(rows[0]) : undefined;
    });
  }

  /** Ends a live session at stage `from`; true for the one caller that did. */
  async consume(session: AuthorizationSession, from: SessionStage): Promise<boolean> {
    return inTenantTransaction(this.pool, session.tenantId, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE authorization_session SET consumed_at = now()
         WHERE tenant_id = $1 AND id_hash = $2 AND stage = $3 AND consumed_at IS NULL AND expires_at > now()`,
        [session.tenantId, session.idHash, from],
      );
      return rowCount === 1;
    });
  }
}
