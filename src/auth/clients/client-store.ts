// Registered OAuth clients of a tenant (table oauth_client, migration 0011; SMART App Launch
// 2.x client registration): add, find, list, remove. client_id is generated unless given.
import { randomUUID } from 'node:crypto';
import type { OAuthClient } from '../contracts.js';
import type { Sql } from '../tokens/sql.js';
import { checkJwks, checkRegistration, ClientRegistrationError, type NewClientInput } from './client-validation.js';

export interface StoredClient extends OAuthClient {
  createdAt: Date;
}

const COLUMNS = 'tenant_id, client_id, name, kind, redirect_uris, scope, jwks, jwks_uri, admin, created_at';

function toClient(row: any): StoredClient {
  const client: StoredClient = {
    tenantId: row.tenant_id,
    clientId: row.client_id,
    name: row.name,
    kind: row.kind,
    redirectUris: Object.freeze([...(row.redirect_uris as string[])]),
    scope: row.scope,
    admin: row.admin,
    createdAt: row.created_at,
  };
  if (row.jwks) client.jwks = row.jwks;
  if (row.jwks_uri) client.jwksUri = row.jwks_uri;
  return client;
}

/** Validates and stores a client; throws ClientRegistrationError on a bad registration or a taken client_id. */
export async function addClient(sql: Sql, tenantId: string, input: NewClientInput): Promise<StoredClient> {
  checkRegistration(input);
  const clientId = input.clientId ?? randomUUID();
  const jwks = input.jwks === undefined ? null : JSON.stringify(checkJwks(input.jwks));
  const { rows } = await sql.query(
    `INSERT INTO oauth_client (tenant_id, client_id, name, kind, redirect_uris, scope, jwks, jwks_uri, admin)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
     ON CONFLICT (tenant_id, client_id) DO NOTHING
     RETURNING ${COLUMNS}`,
    [tenantId, clientId, input.name.trim(), input.kind, [...(input.redirectUris ?? [])], (input.scope ?? '').trim(), jwks, input.jwksUri ?? null, input.admin ?? false],
  );
  if (rows.length === 0) throw new ClientRegistrationError(`client_id ${clientId} is already registered`);
  return toClient(rows[0]);
}

export async function findClient(sql: Sql, tenantId: string, clientId: string): Promise<StoredClient | undefined> {
  const { rows } = await sql.query(`SELECT ${COLUMNS} FROM oauth_client WHERE tenant_id = $1 AND client_id = $2`, [tenantId, clientId]);
  return rows[0] ? toClient(rows[0]) : undefined;
}

export async function listClients(sql: Sql, tenantId: string): Promise<StoredClient[]> {
  const { rows } = await sql.query(`SELECT ${COLUMNS} FROM oauth_client WHERE tenant_id = $1 ORDER BY created_at, client_id`, [tenantId]);
  return rows.map(toClient);
}

/** Removes a client and revokes every grant it holds; true when it existed. */
export async function removeClient(sql: Sql, tenantId: string, clientId: string): Promise<boolean> {
  const { rowCount } = await sql.query('DELETE FROM oauth_client WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId]);
  if (!rowCount) return false;
  await sql.query('UPDATE oauth_grant SET revoked_at = now() WHERE tenant_id = $1 AND client_id = $2 AND revoked_at IS NULL', [tenantId, clientId]);
  return true;
}
