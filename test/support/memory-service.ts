// A FhirService on the in-memory repository (src/storage/memory), for unit tests that go
// through the whole service layer without a database.
import { NO_HOOKS } from '../../src/fhir/hooks.js';
import { FhirService } from '../../src/fhir/service.js';
import { createResourceValidator } from '../../src/fhir/validation/resource-schema.js';
import { SearchEngine } from '../../src/search/engine.js';
import { createSearchRegistry, type SearchRegistry } from '../../src/search/registry/registry.js';
import { TenantSearchParameters } from '../../src/search/tenant-params.js';
import { MemoryRepository } from '../../src/storage/memory/memory-repository.js';

let validator: ReturnType<typeof createResourceValidator> | undefined;

export function memoryService(registry: SearchRegistry = createSearchRegistry()): FhirService {
  validator ??= createResourceValidator();
  return new FhirService(
    new MemoryRepository(),
    {
      validator,
      search: new SearchEngine(registry, { defaultCount: 20, maxCount: 100 }),
      searchParams: new TenantSearchParameters(registry),
      hooks: NO_HOOKS,
      config: { defaultPageSize: 20, maxPageSize: 100, validateResources: true },
    },
    { softwareVersion: '0.0.0-test', tenantCacheTtlMs: 0 },
  );
}
