-- Terminology storage (issue 12; docs/terminology.md, docs/adr/0019-terminology-storage.md).
--
-- Two sets of the same tables:
--   terminology_*  shared by every tenant: written only by the operator's connection (the
--                  preloaded FHIR R4 and HL7 content, `hearth terminology import` without
--                  --tenant); hearth_app may only read them. On Citus they are reference tables
--                  (copied to every worker), so a tenant's search joins them on its own shard.
--   tenant_*       a tenant's own terminology (CodeSystems it stores through the API, imports
--                  with --tenant): tenant_id first, row-level security, distributed by tenant_id
--                  on Citus like every tenant table.
-- Code system versions of both draw their ids from ONE sequence, so an id names one version
-- wherever it lives, and concept/closure rows carry only that id.

CREATE SEQUENCE terminology_code_system_id_seq;
GRANT USAGE ON SEQUENCE terminology_code_system_id_seq TO hearth_app;

-- One loaded version of a code system. A version, its concepts and its closure are written in
-- one transaction, so readers never see a half-loaded version.
CREATE TABLE terminology_code_system (
  id bigint PRIMARY KEY DEFAULT nextval('terminology_code_system_id_seq'),
  url text NOT NULL,
  version text NOT NULL DEFAULT '',
  name text,
  title text,
  status text,
  content text NOT NULL DEFAULT 'complete',
  case_sensitive boolean NOT NULL DEFAULT true,
  hierarchy_meaning text,
  source text NOT NULL,
  property_defs jsonb NOT NULL DEFAULT '[]',
  concept_count integer NOT NULL DEFAULT 0,
  resource jsonb,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (url, version)
);

CREATE TABLE terminology_concept (
  code_system_id bigint NOT NULL REFERENCES terminology_code_system (id) ON DELETE CASCADE,
  code text NOT NULL,
  display text,
  active boolean NOT NULL DEFAULT true,
  designations jsonb,
  properties jsonb,
  PRIMARY KEY (code_system_id, code)
);

-- Direct is-a edges (child is-a parent).
CREATE TABLE terminology_concept_parent (
  code_system_id bigint NOT NULL REFERENCES terminology_code_system (id) ON DELETE CASCADE,
  child text NOT NULL,
  parent text NOT NULL,
  PRIMARY KEY (code_system_id, child, parent)
);
CREATE INDEX terminology_concept_parent_by_parent ON terminology_concept_parent (code_system_id, parent);

-- Transitive closure of is-a, reflexive (every concept is its own ancestor), so `is-a` and
-- `:below` are one lookup and `descendent-of` is the same without the self row.
CREATE TABLE terminology_closure (
  code_system_id bigint NOT NULL REFERENCES terminology_code_system (id) ON DELETE CASCADE,
  ancestor text NOT NULL,
  descendant text NOT NULL,
  PRIMARY KEY (code_system_id, ancestor, descendant)
);
CREATE INDEX terminology_closure_by_descendant ON terminology_closure (code_system_id, descendant, ancestor);

-- Shared ValueSet, ConceptMap and CodeSystem resources (the preloaded definitions): found by
-- canonical url (and version) when a tenant has none of its own.
CREATE TABLE terminology_resource (
  resource_type text NOT NULL CHECK (resource_type IN ('CodeSystem', 'ValueSet', 'ConceptMap')),
  url text NOT NULL,
  version text NOT NULL DEFAULT '',
  id text NOT NULL,
  source text NOT NULL,
  content jsonb NOT NULL,
  PRIMARY KEY (resource_type, url, version)
);

-- Bumped by every change to shared terminology; cached expansions name the generations they
-- were computed at, so a change invalidates them.
CREATE TABLE terminology_generation (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  generation bigint NOT NULL DEFAULT 0
);
INSERT INTO terminology_generation DEFAULT VALUES;

GRANT SELECT ON terminology_code_system, terminology_concept, terminology_concept_parent, terminology_closure,
  terminology_resource, terminology_generation TO hearth_app;

-- A tenant's own terminology: the same shapes, tenant_id first.
CREATE TABLE tenant_code_system (
  tenant_id text NOT NULL,
  id bigint NOT NULL DEFAULT nextval('terminology_code_system_id_seq'),
  url text NOT NULL,
  version text NOT NULL DEFAULT '',
  name text,
  title text,
  status text,
  content text NOT NULL DEFAULT 'complete',
  case_sensitive boolean NOT NULL DEFAULT true,
  hierarchy_meaning text,
  source text NOT NULL,
  property_defs jsonb NOT NULL DEFAULT '[]',
  concept_count integer NOT NULL DEFAULT 0,
  -- The stored CodeSystem resource the concepts came from (API writes), or null (imports).
  resource_id text,
  resource jsonb,
  loaded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, url, version)
);

CREATE TABLE tenant_concept (
  tenant_id text NOT NULL,
  code_system_id bigint NOT NULL,
  code text NOT NULL,
  display text,
  active boolean NOT NULL DEFAULT true,
  designations jsonb,
  properties jsonb,
  PRIMARY KEY (tenant_id, code_system_id, code),
  FOREIGN KEY (tenant_id, code_system_id) REFERENCES tenant_code_system (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE tenant_concept_parent (
  tenant_id text NOT NULL,
  code_system_id bigint NOT NULL,
  child text NOT NULL,
  parent text NOT NULL,
  PRIMARY KEY (tenant_id, code_system_id, child, parent),
  FOREIGN KEY (tenant_id, code_system_id) REFERENCES tenant_code_system (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX tenant_concept_parent_by_parent ON tenant_concept_parent (tenant_id, code_system_id, parent);

CREATE TABLE tenant_closure (
  tenant_id text NOT NULL,
  code_system_id bigint NOT NULL,
  ancestor text NOT NULL,
  descendant text NOT NULL,
  PRIMARY KEY (tenant_id, code_system_id, ancestor, descendant),
  FOREIGN KEY (tenant_id, code_system_id) REFERENCES tenant_code_system (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX tenant_closure_by_descendant ON tenant_closure (tenant_id, code_system_id, descendant, ancestor);

CREATE TABLE tenant_terminology_generation (
  tenant_id text PRIMARY KEY,
  generation bigint NOT NULL DEFAULT 0
);

-- Cached ValueSet expansions (tenant-scoped: what a tenant sees depends on its own content).
-- `fingerprint` names the ValueSet's content, the expansion parameters that change membership
-- and both generations; a stale fingerprint is simply never asked for again.
CREATE TABLE value_set_expansion (
  tenant_id text NOT NULL,
  id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
  fingerprint text NOT NULL,
  value_set_url text,
  value_set_version text,
  total integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, fingerprint)
);

CREATE TABLE value_set_expansion_code (
  tenant_id text NOT NULL,
  expansion_id bigint NOT NULL,
  ord integer NOT NULL,
  system text NOT NULL,
  version text,
  code text NOT NULL,
  display text,
  inactive boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, expansion_id, ord),
  FOREIGN KEY (tenant_id, expansion_id) REFERENCES value_set_expansion (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX value_set_expansion_code_by_code ON value_set_expansion_code (tenant_id, expansion_id, code, system);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenant_code_system', 'tenant_concept', 'tenant_concept_parent', 'tenant_closure',
      'tenant_terminology_generation', 'value_set_expansion', 'value_set_expansion_code'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO hearth_app USING (tenant_id = current_setting(''app.tenant_id'')) '
      'WITH CHECK (tenant_id = current_setting(''app.tenant_id''))', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hearth_app', t);
  END LOOP;
END
$$;
