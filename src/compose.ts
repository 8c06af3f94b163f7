// The composition root (docs/adr/0009-layers-and-composition.md): the one place that wires
// storage, search and the FHIR service together. Every entry point that serves FHIR requests
// (the HTTP server, `hearth load`, bench:ingest; later Bulk Data $import) builds its service
// here, so authorization, audit and outbox hooks reach all of them alike.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { observerId } from './audit/balp/index.js';
import { AuditGroupCommit } from './audit/group-commit.js';
import { AuditJournalExpander } from './audit/journal-expander.js';
import { AuditRecorder } from './audit/recorder.js';
import { join } from 'node:path';
import { auditHasher } from './audit/chain/hasher.js';
import { createAuditTrailService } from './compose-audit-trail.js';
import type { Config } from './core/config.js';
import { projectRoot } from './core/project-root.js';
import { NO_HOOKS, type InteractionHooks } from './fhir/hooks.js';
import { valueSetExpander } from './fhir/search-expansions.js';
import { FhirService } from './fhir/service.js';
import { OutboxRecorder } from './jobs/outbox/outbox-recorder.js';
import { SsrfGuard, type Resolver } from './jobs/net/ssrf-guard.js';
import { createResourceValidator } from './fhir/validation/resource-schema.js';
import { SearchEngine } from './search/engine.js';
import { createSearchRegistry } from './search/registry/registry.js';
import { TenantSearchParameters } from './search/tenant-params.js';
import type { Database } from './storage/pg/database.js';
import { PgRepository } from './storage/pg/pg-repository.js';
import { OutboxNotifier } from './storage/pg/outbox-notifier.js';
import { TableMaintenance, type MaintenanceLog } from './storage/pg/table-maintenance.js';

export interface FhirComposition {
  service: FhirService;
  /** For what runs beside the service: readiness, the load ledger, tenant checks. */
  repository: PgRepository;
  /** The same per-tenant registries the service indexes with (the reindex worker loads them). */
  searchParams: TenantSearchParameters;
  /** Statistics and GIN pending lists behind writes; close it before the database. */
  maintenance: TableMaintenance;
  /** The audit trail's recorder (HEARTH_AUDIT=on): the authorization server records its security events here too. */
  audit?: AuditRecorder;
  /** Expands the audit journal into the trail: the server starts it and drains it before sealing. */
  auditJournal: AuditJournalExpander;
  /** The transactional outbox's write side (issue 13): hooks every version written. */
  outbox: OutboxRecorder;
  /** The guard Subscription endpoints pass at creation (and deliveries at every connection). */
  ssrfGuard: SsrfGuard;
  /** Wakes relays after commits that appended outbox rows; close it before the database. */
  outboxNotifier: OutboxNotifier;
}

export interface CompositionOptions {
  /** DNS for the SSRF guard of Subscription endpoints (tests inject one). */
  resolver?: Resolver;
  logger?: MaintenanceLog;
  /**
   * Analyze tables in the background as writes accumulate (HEARTH_ANALYZE_AFTER_ROWS). A bulk
   * load turns it off and settles its tables once, at the end.
   */
  analyzeAsWritten?: boolean;
}

/** The server's version as the CapabilityStatement reports it (software.version). */
export const softwareVersion = (): string =>
  (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The FHIR service on an open, migrated database. `hooks` defaults to NO_HOOKS until the SMART,
 * audit and outbox work lands; they plug in here, once, for every entry point.
 */
export function createFhirService(
  config: Config,
  database: Database,
  hooks: InteractionHooks = NO_HOOKS,
  options: CompositionOptions = {},
): FhirComposition {
  const analyzeAfterRows = options.analyzeAsWritten === false ? 0 : config.analyzeAfterRows;
  const maintenance = new TableMaintenance(database.pool, { minRows: analyzeAfterRows, fraction: 0.1 }, options.logger);
  // Relays learn of committed outbox rows from this process's notifier (ADR 0020).
  const outboxNotifier = new OutboxNotifier(database.mode === 'postgres' ? database.pool : undefined);
  const repository = new PgRepository(database.pool, { maintenance, ginPendingListLimitKb: config.ginPendingListLimitKb, auditHasher, outboxCommitted: (tenantId) => outboxNotifier.committed(tenantId) });
  const registry = createSearchRegistry();
  const search = new SearchEngine(registry, { defaultCount: config.defaultPageSize, maxCount: config.maxPageSize });
  const searchParams = new TenantSearchParameters(registry);
  search.useValueSetExpander(valueSetExpander({ search, searchParams }, config.expandMaxCodes));
  // Whether or not this process records, it expands what is in the journal before sealing (server.ts).
  const auditJournal = new AuditJournalExpander({ repository, registry, intervalMs: config.auditExpandIntervalMs, maxLagMs: config.auditExpandMaxLagMs, logger: options.logger });
  const audit = config.audit === 'on' ? createAuditRecorder(config, repository, auditJournal) : undefined;
  // Every version written owes its sync destinations and Subscriptions an outbox row (issue 13).
  const ssrfGuard = new SsrfGuard({ allow: config.outboundAllow, ...(options.resolver ? { resolver: options.resolver } : {}) });
  const outbox = new OutboxRecorder({
    searchParams,
    checkEndpoint: async (url) => {
      const checked = await ssrfGuard.checkUrl(url);
      return checked.ok ? undefined : checked.reason;
    },
  });
  const withOutbox = outbox.hooks(hooks);
  const service = new FhirService(
    repository,
    { validator: createResourceValidator(), searchParams, search, hooks: audit ? audit.hooks(withOutbox) : withOutbox, config, auditTrail: createAuditTrailService(database.pool, auditHasher) },
    { softwareVersion: softwareVersion(), tenantCacheTtlMs: config.tenantCacheTtlMs, bundleMaxEntries: config.bundleMaxEntries },
  );
  return { service, repository, searchParams, maintenance, audit, auditJournal, outbox, ssrfGuard, outboxNotifier };
}

/** Records every interaction (issue 11): observer id from HEARTH_AUDIT_OBSERVER, else the public base URL, else this host. */
function createAuditRecorder(config: Config, repository: PgRepository, expander: AuditJournalExpander): AuditRecorder {
  const observer = observerId({ setting: config.auditObserver, publicBaseUrl: config.publicBaseUrl, origin: `urn:hearth:${hostname()}` });
  return new AuditRecorder({ observer, groupCommit: new AuditGroupCommit(repository), expander });
}
