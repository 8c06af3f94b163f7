-- SMART App Launch 2.x / SMART Backend Services authorization server, token side (issue 10):
-- registered clients, per-tenant signing keys, authorization codes, grants, refresh tokens,
-- EHR launch contexts and the client-assertion replay store. Every table is a tenant table
-- under row-level security like the others (0001, 0002). Secrets handed to clients (codes,
-- refresh tokens, launch values) are stored only as SHA-256 hashes (hex).

-- RFC 6749 section 2 / SMART client registration.
CREATE TABLE oauth_client (
  tenant_id text NOT NULL,
  client_id text NOT NULL,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('public', 'confidential-asymmetric', 'backend-service')),
  redirect_uris text[] NOT NULL DEFAULT '{}',
  scope text NOT NULL DEFAULT '',
  jwks jsonb,
  jwks_uri text,
  admin boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, client_id)
);

-- The tenant's token signing keys (ES384). A key signs until rotated_at; it stays published in
-- the JWKS (and accepted) until publish_until, when every token it signed has expired.
CREATE TABLE signing_key (
  tenant_id text NOT NULL,
  kid text NOT NULL,
  alg text NOT NULL CHECK (alg = 'ES384'),
  public_jwk jsonb NOT NULL,
  private_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz,
  publish_until timestamptz,
  PRIMARY KEY (tenant_id, kid)
);

-- One authorization (login + consent, or a client_credentials issuance). Its id is the `gid`
-- claim of every token issued under it; revoking it revokes them all.
CREATE TABLE oauth_grant (
  tenant_id text NOT NULL,
  grant_id text NOT NULL,
  client_id text NOT NULL,
  grant_type text NOT NULL CHECK (grant_type IN ('authorization_code', 'client_credentials')),
  subject text NOT NULL,
  user_id text,
  scope text NOT NULL,
  patient text,
  encounter text,
  fhir_user text,
  nonce text,
  auth_time bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  PRIMARY KEY (tenant_id, grant_id)
);

-- RFC 6749 section 4.1.2 codes (single use, about a minute), RFC 7636 challenge kept with it.
CREATE TABLE authorization_code (
  tenant_id text NOT NULL,
  code_hash text NOT NULL,
  client_id text NOT NULL,
  redirect_uri text NOT NULL,
  code_challenge text NOT NULL,
  scope text NOT NULL,
  user_id text NOT NULL,
  fhir_user text,
  patient text,
  encounter text,
  nonce text,
  auth_time bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  grant_id text,
  PRIMARY KEY (tenant_id, code_hash)
);

-- RFC 6749 section 6 with rotation (OAuth 2.0 Security BCP 4.14): each use replaces the token.
CREATE TABLE refresh_token (
  tenant_id text NOT NULL,
  token_hash text NOT NULL,
  grant_id text NOT NULL,
  client_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  replaced_by text,
  PRIMARY KEY (tenant_id, token_hash),
  FOREIGN KEY (tenant_id, grant_id) REFERENCES oauth_grant (tenant_id, grant_id) ON DELETE CASCADE
);
CREATE INDEX refresh_token_grant ON refresh_token (tenant_id, grant_id);

-- SMART EHR launch: the context behind an opaque `launch` value.
CREATE TABLE launch_context (
  tenant_id text NOT NULL,
  launch_hash text NOT NULL,
  patient text,
  encounter text,
  user_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, launch_hash)
);

-- RFC 7523 section 3 / SMART Backend Services: a client assertion's jti is used once.
CREATE TABLE client_assertion_jti (
  tenant_id text NOT NULL,
  client_id text NOT NULL,
  jti text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, client_id, jti)
);
CREATE INDEX client_assertion_jti_expiry ON client_assertion_jti (tenant_id, expires_at);

ALTER TABLE oauth_client ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON oauth_client TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_client TO hearth_app;

ALTER TABLE signing_key ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON signing_key TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE ON signing_key TO hearth_app;

ALTER TABLE oauth_grant ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON oauth_grant TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON oauth_grant TO hearth_app;

ALTER TABLE authorization_code ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON authorization_code TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON authorization_code TO hearth_app;

ALTER TABLE refresh_token ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_token TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_token TO hearth_app;

ALTER TABLE launch_context ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON launch_context TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, DELETE ON launch_context TO hearth_app;

ALTER TABLE client_assertion_jti ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON client_assertion_jti TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, DELETE ON client_assertion_jti TO hearth_app;
