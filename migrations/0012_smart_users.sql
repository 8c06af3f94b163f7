-- SMART App Launch front channel (issue 10): the people who sign in at {base}/auth/authorize,
-- the tenant's sign-in policy, and the authorization sessions that carry a validated authorize
-- request across the login, second-factor, patient-picker and consent pages.

-- A user signs in with a username (unique per tenant, case-insensitively) and a password
-- (scrypt, encoded with its parameters: src/auth/passwords.ts), and acts as a FHIR resource
-- (fhir_user, e.g. Practitioner/123 or Patient/456). totp_secret: an RFC 6238 shared secret
-- (base32) when the user has a second factor; totp_last_step: the last time step accepted, so
-- a code is never accepted twice.
CREATE TABLE smart_user (
  tenant_id text NOT NULL,
  id text NOT NULL,
  username text NOT NULL,
  username_key text NOT NULL,
  password_hash text NOT NULL,
  fhir_user text NOT NULL,
  totp_secret text,
  totp_last_step bigint,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, username_key)
);
ALTER TABLE smart_user ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON smart_user TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON smart_user TO hearth_app;

-- The tenant's sign-in policy; no row means the defaults (second factor optional).
CREATE TABLE smart_auth_policy (
  tenant_id text NOT NULL PRIMARY KEY,
  require_totp boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE smart_auth_policy ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON smart_auth_policy TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE ON smart_auth_policy TO hearth_app;

-- One authorize request between its validation and the code (or the refusal) it ends in. The
-- browser holds the session id in a cookie; only its SHA-256 is stored (id_hash). `stage` is
-- the page the user is on; each step moves it forward with a conditional UPDATE, and the final
-- decision sets consumed_at, so a session is used once. csrf_token is the token every form of
-- the session carries; it changes at each step. Sessions live about ten minutes.
CREATE TABLE authorization_session (
  tenant_id text NOT NULL,
  id_hash text NOT NULL,
  request jsonb NOT NULL,
  stage text NOT NULL CHECK (stage IN ('login', 'totp', 'patient', 'consent')),
  user_id text,
  fhir_user text,
  auth_time bigint,
  patient text,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  consumed_at timestamptz,
  PRIMARY KEY (tenant_id, id_hash)
);
CREATE INDEX authorization_session_expiry_idx ON authorization_session (tenant_id, expires_at);
ALTER TABLE authorization_session ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON authorization_session TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON authorization_session TO hearth_app;
