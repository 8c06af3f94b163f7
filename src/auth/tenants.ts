// Which tenant an auth request (token side and front channel alike) is for: the FHIR base the router is mounted under (/fhir for
// `default`, /t/{tenant}/fhir for the others; ARCHITECTURE.md tenancy), checked against the
// tenant registry with a short cache (config.tenantCacheTtlMs) so unknown tenants answer 404.
import type { Database } from '../storage/pg/database.js';

const BASE = /^(?:\/fhir|\/t\/([^/]+)\/fhir)\/?$/;
const TENANT_ID = /^[A-Za-z0-9.-]{1,64}$/;

/** The tenant id a mount path names, or undefined when it is no FHIR base. */
export function tenantFromBasePath(basePath: string): string | undefined {
  const m = BASE.exec(basePath);
  if (!m) return undefined;
  if (m[1] === undefined) return 'default';
  let id: string;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
  return TENANT_ID.test(id) ? id : undefined;
}

export class TenantCheck {
  private readonly known = new Map<string, number>();

  constructor(
    private readonly database: Database,
    private readonly ttlMs: number,
  ) {}

  async exists(tenantId: string): Promise<boolean> {
    if (!TENANT_ID.test(tenantId)) return false;
    const until = this.known.get(tenantId);
    if (until !== undefined && until > Date.now()) return true;
    const { rows } = await this.database.pool.query('SELECT 1 FROM tenant WHERE id = $1', [tenantId]);
    if (rows.length === 0) return false;
    if (this.ttlMs > 0) this.known.set(tenantId, Date.now() + this.ttlMs);
    return true;
  }
}
