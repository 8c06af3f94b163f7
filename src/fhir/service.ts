// The one service layer every entry point goes through (REST, `hearth load`, batch and
// transaction bundles, $reindex), built once in src/compose.ts: tenant check, routing,
// authorization, the tenant transaction with bounded retries on write conflicts
// (http.html#concurrency), and the completion hook for audit. A batch sends each entry back
// through handle(); a transaction authorizes every entry, then runs them all as one
// interaction, so its completion hook fires once for the bundle (bundle/transaction.ts).
import type { FhirRepository } from '../storage/resource-store.js';
import { WriteConflict } from '../storage/resource-store.js';
import { FhirError } from '../core/errors.js';
import type { Interaction, InteractionDeps } from './interactions/context.js';
import { processBatch } from './bundle/batch.js';
import { bundleType, parseEntries } from './bundle/entries.js';
import { transactionInteraction } from './bundle/transaction.js';
import { route } from './router.js';
import { TenantDirectory } from './tenant-directory.js';
import type { FhirRequest, FhirResponse } from '../core/types.js';
import { authorize } from './access/authorize.js';
import { bindRequestAccess } from './access/read-constraint.js';
import type { AccessContext } from '../core/types.js';

export interface FhirServiceOptions {
  softwareVersion: string;
  tenantCacheTtlMs: number;
  /** Attempts for a unit of work that lost a race with a concurrent writer. */
  maxAttempts?: number;
  /** Most entries in a posted batch or transaction (HEARTH_BUNDLE_MAX_ENTRIES). */
  bundleMaxEntries?: number;
}

export class FhirService {
  private readonly tenants: TenantDirectory;

  constructor(
    private readonly repository: FhirRepository,
    private readonly deps: InteractionDeps,
    private readonly options: FhirServiceOptions,
  ) {
    this.tenants = new TenantDirectory(repository, options.tenantCacheTtlMs);
  }

  async handle(req: FhirRequest): Promise<FhirResponse> {
    await this.tenants.require(req.tenantId);
    if (req.method === 'POST' && req.path.length === 0) return this.handleBundle(req);
    return this.run(req, route(req, this.deps, this.options));
  }

  /**
   * POST [base] (http.html#transaction): a transaction runs as one interaction in one
   * database transaction (retried whole on a write conflict); a batch sends each entry
   * through handle() on its own.
   */
  private async handleBundle(req: FhirRequest): Promise<FhirResponse> {
    const type = bundleType(req.body);
    const entries = parseEntries(req, req.body as Record<string, unknown>, { maxEntries: this.options.bundleMaxEntries ?? 25000 });
    if (type === 'batch') {
      await authorize(this.deps.hooks, req, { interaction: 'batch' });
      return processBatch(req, entries, (entry) => this.handle(entry));
    }
    return this.run(req, transactionInteraction(req, this.deps, entries, (entry) => route(entry, this.deps, this.options)));
  }

  private async run(req: FhirRequest, interaction: Interaction): Promise<FhirResponse> {
    let status = 500;
    try {
      await authorize(this.deps.hooks, req, interaction.target);
      const response = await this.execute(req.tenantId, req.access, interaction);
      status = response.status;
      return response;
    } catch (error) {
      if (error instanceof FhirError) status = error.status;
      throw error;
    } finally {
      void this.deps.hooks.interactionCompleted(req, interaction.target, status).catch(() => undefined);
    }
  }

  /** Runs `interaction` in a tenant transaction whose reads obey `access` (access/read-constraint.ts). */
  private async execute(tenantId: string, access: AccessContext, interaction: Interaction): Promise<FhirResponse> {
    const maxAttempts = this.options.maxAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      try {
        const work = (store: Parameters<Interaction['run']>[0]) => {
          bindRequestAccess(store, access, this.deps.searchParams);
          return interaction.run(store);
        };
        return await this.repository.withTenant(tenantId, work, {
          readOnly: interaction.readOnly,
        });
      } catch (error) {
        if (!(error instanceof WriteConflict) || attempt >= maxAttempts) {
          if (error instanceof WriteConflict) {
            throw new FhirError(409, { code: 'conflict', diagnostics: `Gave up after ${attempt} concurrent write conflicts: ${error.message}` });
          }
          throw error;
        }
        // Exponential backoff with full jitter: 2, 4, 8 ... ms ceiling.
        await new Promise((r) => setTimeout(r, Math.random() * 2 ** attempt));
      }
    }
  }
}
