// The people who sign in at a tenant's SMART authorize endpoint (issue 10), and the tenant's
// sign-in policy, in the tenant tables smart_user and smart_auth_policy (migration 0012) under
// row-level security: every statement runs in inTenantTransaction, so one tenant's users are
// invisible to another's. Usernames are unique per tenant, compared case-insensitively (the
// key is the NFC-normalized lower-case form); the spelling given at creation is kept for display.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../storage/pg/database.js';
import { inTenantTransaction } from '../../storage/pg/tenant-session.js';

type Pool = Database['pool'];

export interface User {
  tenantId: string;
  id: string;
  username: string;
  passwordHash: string;
  /** The user's FHIR identity, a relative reference such as Practitioner/123 or Patient/456. */
  fhirUser: string;
  /** RFC 6238 shared secret (base32) when the user has a second factor. */
  totpSecret?: string;
  /** The time step of the last TOTP code accepted (replay protection). */
  totpLastStep?: number;
  createdAt: Date;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  fhirUser: string;
  totpSecret?: string;
}

export interface AuthPolicy {
  /** Every user of the tenant must pass a TOTP second factor. */
  requireTotp: boolean;
}

export class UserExistsError extends Error {
  override name = 'UserExistsError';
}

const USERNAME = /^[\p{L}\p{N}._@+-]{1,128}$/u;
const FHIR_USER = /^(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)\/[A-Za-z0-9.-]{1,64}$/;

/** The case-insensitive key of a username. */
export const usernameKey = (username: string): string => username.normalize('NFC').toLowerCase();

/** Why `username` cannot be used, or undefined. */
export function usernameProblem(username: string): string | undefined {
  return USERNAME.test(username.normalize('NFC')) ? undefined : 'a username is 1-128 letters, digits or . _ @ + -';
}

/** Why `fhirUser` is not a user reference, or undefined. */
export function fhirUserProblem(fhirUser: string): string | undefined {
  return FHIR_USER.test(fhirUser) ? undefined : 'fhirUser is Practitioner/<id>, PractitionerRole/<id>, Patient/<id>, RelatedPerson/<id> or Person/<id>';
}

interface UserRow {
  tenant_id: string;
  id: string;
  username: string;
  password_hash: string;
  fhir_user: string;
  totp_secret: string | null;
  totp_last_step: number | string | null;
  created_at: Date;
}

const COLUMNS = 'tenant_id, id, username, password_hash, fhir_user, totp_secret, totp_last_step, created_at';

function toUser(row: UserRow): User {
  const user: User = {
    tenantId: row.tenant_id,
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    fhirUser: row.fhir_user,
    createdAt: row.created_at,
  };
  if (row.totp_secret !== null) user.totpSecret = row.totp_secret;
  if (row.totp_last_step !== null) user.totpLastStep = Number(row.totp_last_step);
  return user;
}

export class UserStore {
  constructor(private readonly pool: Pool) {}

  async create(tenantId: string, user: NewUser): Promise<User> {
    const problem = usernameProblem(user.username) ?? fhirUserProblem(user.fhirUser);
    if (problem) throw new RangeError(problem);
    const username = user.username.normalize('NFC');
    try {
      return await inTenantTransaction(this.pool, tenantId, async (client) => {
        const { rows } = await client.query<UserRow>(
          `INSERT INTO smart_user (tenant_id, id, username, username_key, password_hash, fhir_user, totp_secret)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
          [tenantId, randomUUID(), username, usernameKey(username), user.passwordHash, user.fhirUser, user.totpSecret ?? null],
        );
        return toUser(rows[0]);
      });
    } catch (error) {
      // inTenantTransaction reports a unique violation (23505) as a write conflict.
      const message = (error as Error).message ?? '';
      if ((error as { code?: string }).code === '23505' || /duplicate key|unique/i.test(message)) {
        throw new UserExistsError(`User '${username}' already exists in tenant '${tenantId}'`);
      }
      throw error;
    }
  }

  async findByUsername(tenantId: string, username: string): Promise<User | undefined> {
    if (usernameProblem(username)) return undefined;
    return inTenantTransaction(
      this.pool,
      tenantId,
      async (client) => {
        const { rows } = await client.query<UserRow>(`SELECT ${COLUMNS} FROM smart_user WHERE tenant_id = $1 AND username_key = $2`, [tenantId, usernameKey(username)]);
        return rows[0] ? toUser(rows[0]) : undefined;
      },
      { readOnly: true },
    );
  }

  async findById(tenantId: string, id: string): Promise<User | undefined> {
    return inTenantTransaction(
      this.pool,
      tenantId,
      async (client) => {
        const { rows } = await client.query<UserRow>(`SELECT ${COLUMNS} FROM smart_user WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
        return rows[0] ? toUser(rows[0]) : undefined;
      },
      { readOnly: true },
    );
  }

  async list(tenantId: string): Promise<User[]> {
    return inTenantTransaction(
      this.pool,
      tenantId,
      async (client) => {
        const { rows } = await client.query<UserRow>(`SELECT ${COLUMNS} FROM smart_user WHERE tenant_id = $1 ORDER BY username_key`, [tenantId]);
        return rows.map(toUser);
      },
      { readOnly: true },
    );
  }

  /**
   * Records that a TOTP code of `step` was accepted; false when a code of that step or a later
   * one already was (two concurrent logins with one code: only one wins).
   */
  async acceptTotpStep(tenantId: string, userId: string, step: number): Promise<boolean> {
    return inTenantTransaction(this.pool, tenantId, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE smart_user SET totp_last_step = $3
         WHERE tenant_id = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)`,
        [tenantId, userId, step],
      );
      return rowCount === 1;
    });
  }

  async setPasswordHash(tenantId: string, userId: string, passwordHash: string): Promise<void> {
    await inTenantTransaction(this.pool, tenantId, async (client) => {
      await client.query('UPDATE smart_user SET password_hash = $3 WHERE tenant_id = $1 AND id = $2', [tenantId, userId, passwordHash]);
    });
  }

  async remove(tenantId: string, username: string): Promise<boolean> {
    return inTenantTransaction(this.pool, tenantId, async (client) => {
      const { rowCount } = await client.query('DELETE FROM smart_user WHERE tenant_id = $1 AND username_key = $2', [tenantId, usernameKey(username)]);
      return rowCount === 1;
    });
  }

  async authPolicy(tenantId: string): Promise<AuthPolicy> {
    return inTenantTransaction(
      this.pool,
      tenantId,
      async (client) => {
        const { rows } = await client.query<{ require_totp: boolean }>('SELECT require_totp FROM smart_auth_policy WHERE tenant_id = $1', [tenantId]);
        return { requireTotp: rows[0]?.require_totp ?? false };
      },
      { readOnly: true },
    );
  }

  async setAuthPolicy(tenantId: string, policy: AuthPolicy): Promise<void> {
    await inTenantTransaction(this.pool, tenantId, async (client) => {
      await client.query(
        // now() in VALUES, not in DO UPDATE: Citus refuses functions that are not IMMUTABLE there.
        `INSERT INTO smart_auth_policy (tenant_id, require_totp, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (tenant_id) DO UPDATE SET require_totp = EXCLUDED.require_totp, updated_at = EXCLUDED.updated_at`,
        [tenantId, policy.requireTotp],
      );
    });
  }
}
