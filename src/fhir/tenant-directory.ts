// Which tenants exist (ARCHITECTURE.md tenancy). Lookups are cached briefly: every request
// asks, tenants are created rarely, and an unknown tenant must answer 404 without a query storm.
import type { FhirRepository, TenantInfo } from '../storage/resource-store.js';
import { notFound } from '../core/errors.js';
import { isValidId } from '../core/ids.js';

export class TenantDirectory {
  private readonly cache = new Map<string, { info: TenantInfo; expires: number }>();

  constructor(
    private readonly repository: FhirRepository,
    private readonly ttlMs: number,
  ) {}

  async require(id: string): Promise<TenantInfo> {
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && hit.expires > now) return hit.info;
    const info = isValidId(id) ? await this.repository.findTenant(id) : undefined;
    if (!info) throw notFound(`Unknown tenant '${id}'`);
    if (this.ttlMs > 0) this.cache.set(id, { info, expires: now + this.ttlMs });
    return info;
  }
}
