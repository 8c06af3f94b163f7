// The terminology preload wired to PostgreSQL (docs/terminology-import.md, "Preload"): run by
// `hearth migrate`, on `hearth serve` after the migrations (PostgreSQL and embedded PGlite alike)
// and by the tests' database setup. The shared tables are written on the operator's connection.
import type { Database } from './storage/pg/database.js';
import { PgBulkSharedTerminology } from './storage/pg/shared-terminology-bulk.js';
import { preloadPackages, type PackagePreload } from './terminology/import/preload.js';

export type { PackagePreload };

/** Loads the FHIR R4 and HL7 Terminology packages into the shared tables unless already there. */
export function preloadTerminology(pool: Database['pool']): Promise<PackagePreload[]> {
  return preloadPackages(new PgBulkSharedTerminology(pool));
}
