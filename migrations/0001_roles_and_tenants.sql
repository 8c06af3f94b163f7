-- Roles and the tenant registry (ARCHITECTURE.md "Storage model", tenancy).
-- hearth_app is the role every request runs as (SET LOCAL ROLE): not owner, not superuser,
-- not BYPASSRLS, so row-level security always applies to it.
DO $$
BEGIN
  CREATE ROLE hearth_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
EXCEPTION WHEN duplicate_object THEN NULL;
END
$$;

-- The connecting (migrating) user must be able to SET ROLE hearth_app.
DO $$
BEGIN
  EXECUTE format('GRANT hearth_app TO %I', current_user);
EXCEPTION WHEN OTHERS THEN NULL;
END
$$;

CREATE TABLE tenant (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9.-]{1,64}$'),
  name text NOT NULL,
  dedicated_partition boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO tenant (id, name) VALUES ('default', 'Default tenant');
GRANT SELECT ON tenant TO hearth_app;
