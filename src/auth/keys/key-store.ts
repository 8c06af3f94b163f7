// The tenant's token signing keys (table signing_key, migration 0011; RFC 7517 JWK, RFC 7518
// ES384). A key signs until it is rotated; it stays published until publish_until, when every
// token it signed has expired. Private material is read only to sign; nothing here returns it
// to a caller outside src/auth/keys.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Sql } from '../tokens/sql.js';

export const SIGNING_ALG = 'ES384';

export interface StoredKey {
  kid: string;
  publicJwk: JWK;
  privateJwk: JWK;
  createdAt: Date;
  rotatedAt?: Date;
  publishUntil?: Date;
}

function toKey(row: any): StoredKey {
  const key: StoredKey = { kid: row.kid, publicJwk: row.public_jwk, privateJwk: row.private_jwk, createdAt: row.created_at };
  if (row.rotated_at) key.rotatedAt = row.rotated_at;
  if (row.publish_until) key.publishUntil = row.publish_until;
  return key;
}

/** A fresh ES384 key pair as JWKs, the public one carrying kid, alg and use. */
export async function newKeyPair(): Promise<{ kid: string; publicJwk: JWK; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG };
  return { kid, publicJwk, privateJwk };
}

/** Keys still published: the signing one and rotated ones whose tokens may be unexpired. Newest first. */
export async function publishedKeys(sql: Sql, tenantId: string): Promise<StoredKey[]> {
  const { rows } = await sql.query(
    `SELECT kid, public_jwk, private_jwk, created_at, rotated_at, publish_until FROM signing_key
     WHERE tenant_id = $1 AND (publish_until IS NULL OR publish_until > now())
     ORDER BY created_at DESC, kid`,
    [tenantId],
  );
  return rows.map(toKey);
}

/** Serializes key creation and rotation per tenant inside the caller's transaction. */
export async function lockKeys(sql: Sql, tenantId: string): Promise<void> {
  await sql.query(`SELECT pg_advisory_xact_lock(hashtext('hearth.signing_key'), hashtext($1))`, [tenantId]);
}

export async function insertKey(sql: Sql, tenantId: string, pair: { kid: string; publicJwk: JWK; privateJwk: JWK }): Promise<StoredKey> {
  const { rows } = await sql.query(
    `INSERT INTO signing_key (tenant_id, kid, alg, public_jwk, private_jwk) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)
     RETURNING kid, public_jwk, private_jwk, created_at, rotated_at, publish_until`,
    [tenantId, pair.kid, SIGNING_ALG, JSON.stringify(pair.publicJwk), JSON.stringify(pair.privateJwk)],
  );
  return toKey(rows[0]);
}

/** Stops a key from signing; it stays published for `keepSeconds` more. */
export async function retireKey(sql: Sql, tenantId: string, kid: string, keepSeconds: number): Promise<void> {
  await sql.query(
    `UPDATE signing_key SET rotated_at = now(), publish_until = now() + make_interval(secs => $3)
     WHERE tenant_id = $1 AND kid = $2 AND rotated_at IS NULL`,
    [tenantId, kid, keepSeconds],
  );
}
