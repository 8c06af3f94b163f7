-- The transactional outbox and outbound delivery (issue 13, docs/sync.md,
-- docs/adr/0020-outbox-and-delivery.md).
--
-- sync_destination: where a tenant's resources are pushed (an immunization registry, a partner).
-- outbox: one row per (change, destination or Subscription), written in the transaction of the
--   change, and the state of its delivery until it is delivered (then deleted) or dead-lettered.
-- delivery_cursor: per (channel, target, resource) the version last delivered and the lease of
--   the delivery in flight, so versions arrive in order (never 2 after 3) and two workers never
--   send one resource at once.
-- delivery_breaker: each destination's circuit as last reported by a worker (the admin API and
--   `hearth sync status` read it from any process), keyed 'sync:<id>' or 'subscription:<id>'.
-- outbox_rules_generation: moves whenever a destination or a Subscription changes, read with
--   BEGIN by every writing transaction, so each process knows when its compiled rules are stale.
CREATE TABLE sync_destination (
  tenant_id text NOT NULL,
  id text NOT NULL CHECK (id ~ '^[A-Za-z0-9.-]{1,64}$'),
  endpoint text NOT NULL,
  resource_types text[] NOT NULL,
  criteria text[] NOT NULL DEFAULT '{}',
  auth jsonb NOT NULL DEFAULT '{"kind":"none"}',
  mode text NOT NULL DEFAULT 'put' CHECK (mode IN ('put', 'conditional')),
  transport text NOT NULL DEFAULT 'fhir',
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
ALTER TABLE sync_destination ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_destination TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON sync_destination TO hearth_app;

CREATE TABLE outbox (
  tenant_id text NOT NULL,
  id uuid NOT NULL,
  channel text NOT NULL CHECK (channel IN ('sync', 'subscription')),
  -- The sync destination's id or the Subscription's id.
  target text NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  version_id integer NOT NULL,
  action text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'handshake')),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- pending: not handed to the queue yet; queued: handed (due at due_at); dead: dead letter.
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'queued', 'dead')),
  -- Changes every time the row is scheduled: a queue job naming an older hand is stale.
  hand integer NOT NULL DEFAULT 0,
  due_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_status integer,
  last_error text,
  last_outcome jsonb,
  dead_at timestamptz,
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_live_idx ON outbox (tenant_id, created_at) WHERE status <> 'dead';
CREATE INDEX outbox_dead_idx ON outbox (tenant_id, target, dead_at) WHERE status = 'dead';
CREATE INDEX outbox_resource_idx ON outbox (tenant_id, channel, target, resource_type, resource_id, version_id);
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox TO hearth_app;

-- Relays LISTEN on 'hearth_outbox'; the process that committed outbox rows sends the NOTIFY
-- after its commit, coalesced (src/storage/pg/outbox-notifier.ts): a trigger notifying from every
-- writing transaction serialized their commits on PostgreSQL's notification lock.

CREATE TABLE delivery_cursor (
  tenant_id text NOT NULL,
  channel text NOT NULL,
  target text NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  delivered_version integer NOT NULL DEFAULT 0,
  lease_token uuid,
  lease_until timestamptz,
  PRIMARY KEY (tenant_id, channel, target, resource_type, resource_id)
);
ALTER TABLE delivery_cursor ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON delivery_cursor TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON delivery_cursor TO hearth_app;

CREATE TABLE delivery_breaker (
  tenant_id text NOT NULL,
  destination text NOT NULL,
  state text NOT NULL CHECK (state IN ('closed', 'open', 'half-open')),
  changed_at timestamptz NOT NULL DEFAULT now(),
  opened_count integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, destination)
);
ALTER TABLE delivery_breaker ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON delivery_breaker TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE, DELETE ON delivery_breaker TO hearth_app;

CREATE TABLE outbox_rules_generation (
  tenant_id text PRIMARY KEY,
  generation bigint NOT NULL
);
ALTER TABLE outbox_rules_generation ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_rules_generation TO hearth_app USING (tenant_id = current_setting('app.tenant_id')) WITH CHECK (tenant_id = current_setting('app.tenant_id'));
GRANT SELECT, INSERT, UPDATE ON outbox_rules_generation TO hearth_app;

CREATE FUNCTION hearth_bump_outbox_rules() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO outbox_rules_generation AS g (tenant_id, generation)
  VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END, 1)
  ON CONFLICT (tenant_id) DO UPDATE SET generation = g.generation + 1;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER sync_destination_rules AFTER INSERT OR UPDATE OR DELETE ON sync_destination
  FOR EACH ROW EXECUTE FUNCTION hearth_bump_outbox_rules();
-- Any Subscription version (a delete is a tombstone update).
CREATE TRIGGER subscription_rules AFTER INSERT OR UPDATE OR DELETE ON "subscription"
  FOR EACH ROW EXECUTE FUNCTION hearth_bump_outbox_rules();

-- Read with BEGIN with the other generations (src/storage/pg/tenant-session.ts).
CREATE FUNCTION hearth_outbox_rules_generation(p_tenant text) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  RETURN coalesce((SELECT generation FROM outbox_rules_generation WHERE tenant_id = p_tenant), 0)::text;
END
$fn$;
