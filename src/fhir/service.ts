// The one service layer every entry point goes through (REST, `hearth load`, batch and
// transaction bundles, $reindex), built once in src/compose.ts: tenant check, routing,
// authorization, the tenant transaction with bounded retries on write conflicts
// (http.html#concurrency), and the completion hook (issue 11, the audit trail) as a unit of work:
// - a write that succeeded completes inside its own transaction, so what the hook stores commits
//   with the write or not at all;
// - a read completes after its READ ONLY transaction, before the response is returned
//   (docs/adr/0014-recording-in-the-request-path.md);
// - a failure — unroutable, refused, failed, rolled back — completes after the fact, with its
//   status and issue code.
// Every completion is awaited: when it throws (the trail cannot be written) the request fails
// with 503 and no data. A batch sends each entry back through handle(); a transaction runs its
// entries in one interaction, and each entry completes inside it (bundle/transaction.ts).
import type { FhirRepository, ResourceStore } from '../storage/resource-store.js';
import { WriteBuffer } from '../storage/write-buffer.js';
import { NeedsWritableTransaction, WriteConflict } from '../storage/resource-store.js';
import { AuditAppendFailed } from '../storage/audit-store.js';
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
import type { InteractionTarget } from './hooks.js';
import { collectChanges } from './unit-changes.js';
import { unroutedTarget } from './unrouted-target.js';
import { AuditUnavailable } from './audit-unavailable.js';

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
    // An unknown tenant has no trail to record in (the HTTP layer answers 404).
    await this.tenants.require(req.tenantId);
    const started = new Date();
    if (req.method === 'POST' && req.path.length === 0) return this.handleBundle(req, started);
    let interaction: Interaction;
    try {
      interaction = route(req, this.deps, this.options);
    } catch (error) {
      await this.recordFailure(req, unroutedTarget(req), started, error);
      throw error;
    }
    return this.run(req, interaction, started);
  }

  /**
   * A request the HTTP layer refused before it became a FhirRequest it could hand here (a body
   * that does not parse, an unsupported media type): recorded as a failure of the interaction
   * it was trying to be. Throws AuditUnavailable when the trail cannot be written.
   */
  async recordRejected(req: FhirRequest, error: unknown): Promise<void> {
    await this.tenants.require(req.tenantId);
    await this.recordFailure(req, unroutedTarget(req), new Date(), error);
  }

  /**
   * POST [base] (http.html#transaction): a transaction runs as one interaction in one
   * database transaction (retried whole on a write conflict); a batch sends each entry
   * through handle() on its own.
   */
  private async handleBundle(req: FhirRequest, started: Date): Promise<FhirResponse> {
    let type: 'batch' | 'transaction' = 'transaction';
    let entries;
    try {
      type = bundleType(req.body) === 'batch' ? 'batch' : 'transaction';
      entries = parseEntries(req, req.body as Record<string, unknown>, { maxEntries: this.options.bundleMaxEntries ?? 25000 });
      if (type === 'batch') await authorize(this.deps.hooks, req, { interaction: 'batch' });
    } catch (error) {
      await this.recordFailure(req, { interaction: type }, started, error);
      throw error;
    }
    for (const entry of entries) entry.request.bundleEntry = { bundleType: type, index: entry.index };
    if (type === 'batch') {
      return processBatch(req, entries, (entry) => this.handle(entry), (entry, error) => this.recordFailure(entry, unroutedTarget(entry), new Date(), error));
    }
    return this.run(req, transactionInteraction(req, this.deps, entries, (entry) => route(entry, this.deps, this.options)), started);
  }

  private async run(req: FhirRequest, interaction: Interaction, started: Date): Promise<FhirResponse> {
    try {
      await authorize(this.deps.hooks, req, interaction.target);
      return await this.execute(req, interaction, started);
    } catch (error) {
      if (!(error instanceof AuditUnavailable)) await this.recordFailure(req, interaction.target, started, error);
      throw error;
    }
  }

  /** A failed or refused interaction's completion, after its transaction (if any) rolled back. */
  private async recordFailure(req: FhirRequest, target: InteractionTarget, started: Date, error: unknown): Promise<void> {
    const status = error instanceof FhirError ? error.status : 500;
    const code = error instanceof FhirError ? error.outcome.issue[0]?.code : 'exception';
    await this.deps.hooks.interactionCompleted({ request: req, target, started, status, code, changes: [] });
  }

  /**
   * Runs `interaction` in a tenant transaction whose reads obey the caller's access
   * (access/read-constraint.ts), and completes it: a write inside the transaction, a read after.
   */
  private async execute(req: FhirRequest, interaction: Interaction, started: Date): Promise<FhirResponse> {
    const { hooks } = this.deps;
    const maxAttempts = this.options.maxAttempts ?? 8;
    // A transaction's entries complete one by one inside it (bundle/transaction.ts).
    const completesInside = !interaction.readOnly && interaction.target.interaction !== 'transaction';
    // A read that must store what it derives (a ValueSet expansion) runs again read-write, once.
    let writable = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const work = async (database: ResourceStore) => {
          // A write runs through a write buffer so that its audit rows go out with its versions,
          // in one statement (ADR 0015); everything it reads still sees its own writes.
          const buffer = completesInside ? new WriteBuffer(database) : undefined;
          const store = buffer ?? database;
          bindRequestAccess(store, req.access, this.deps.searchParams);
          const changes = collectChanges(store);
          const response = await interaction.run(store);
          if (completesInside) await hooks.interactionCompleted({ request: req, target: interaction.target, started, status: response.status, response, changes }, store);
          await buffer?.flush();
          return response;
        };
        const response = await this.repository.withTenant(req.tenantId, work, { readOnly: interaction.readOnly && !writable });
        if (interaction.readOnly) await hooks.interactionCompleted({ request: req, target: interaction.target, started, status: response.status, response, changes: [] });
        return response;
      } catch (error) {
        if (error instanceof AuditAppendFailed) throw new AuditUnavailable(error);
        if (error instanceof NeedsWritableTransaction && !writable) {
          writable = true;
          continue;
        }
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
