// The service layer for an in-process load (hearth load, bench:ingest; later Bulk Data $import),
// built as src/server.ts builds it, on a database already open and migrated, without HTTP, so
// loaded resources are validated, indexed and written exactly as REST and transaction requests.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { NO_HOOKS } from '../fhir/hooks.js';
import { FhirService } from '../fhir/service.js';
import { createResourceValidator } from '../fhir/validation/resource-schema.js';
import { SearchEngine } from '../search/engine.js';
import { createSearchRegistry } from '../search/registry/registry.js';
import { TenantSearchParameters } from '../search/tenant-params.js';
import { projectRoot } from '../core/project-root.js';
import type { Database } from '../storage/pg/database.js';
import { PgRepository } from '../storage/pg/pg-repository.js';

export interface LoadService {
  service: FhirService;
  repository: PgRepository;
}

// As server.ts reads it; not imported from there, which would bring Express into the loader.
const softwareVersion = (): string =>
  (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

export function createLoadService(database: Database, config: Config): LoadService {
  const repository = new PgRepository(database.pool);
  const registry = createSearchRegistry();
  const search = new SearchEngine(registry, { defaultCount: config.defaultPageSize, maxCount: config.maxPageSize });
  const service = new FhirService(
    repository,
    { validator: createResourceValidator(), searchParams: new TenantSearchParameters(registry), search, hooks: NO_HOOKS, config },
    { softwareVersion: softwareVersion(), tenantCacheTtlMs: config.tenantCacheTtlMs, bundleMaxEntries: config.bundleMaxEntries },
  );
  return { service, repository };
}

/**
 * The tenant's FHIR base URL, which entry urls are relative to (nothing is fetched from it):
 * `/fhir` or `/t/{tenant}/fhir` on HEARTH_PUBLIC_BASE_URL, so absolute entry urls written for
 * this server are recognised.
 */
export const tenantBaseUrl = (tenantId: string, origin = 'http://localhost'): string =>
  tenantId === 'default' ? `${origin}/fhir` : `${origin}/t/${encodeURIComponent(tenantId)}/fhir`;
