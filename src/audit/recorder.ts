// Records every interaction and security event as AuditEvents (issue 11 "Recording"; IHE BALP
// RESTful and User Authentication patterns). The FHIR service calls interactionCompleted for
// each interaction and bundle entry (src/fhir/hooks.ts); the authorization server calls record
// (src/audit/security-sink.ts). Where the rows go decides durability
// (docs/adr/0014-recording-in-the-request-path.md): with the write's store they are appended in
// its transaction (through the bundle write buffer for bundles); otherwise they go through the
// group commit, awaited. Either way a failure to write them fails the request (AuditUnavailable).
import type { SearchRegistry } from '../search/registry/registry.js';
import type { CompletedInteraction, InteractionHooks } from '../fhir/hooks.js';
import type { ResourceStore } from '../storage/resource-store.js';
import type { JsonObject } from '../core/types.js';
import { buildAuditEvents, auditRowsOf, requestOf, restEventOf, type AuditInput } from './balp/index.js';
import type { AuditEvent } from 'fhir/r4.js';
import { accessedOf } from './accessed.js';
import { AuditEventIndexer } from './event-index.js';
import type { AuditGroupCommit } from './group-commit.js';
import type { SecurityAuditEntry, SecurityAuditSink } from './security-sink.js';

export interface AuditRecorderOptions {
  /** AuditEvent.source.observer: this server (balp observerId()). */
  observer: string;
  /** The R4 search parameters: AuditEvent rows carry their search index like resource rows. */
  registry: SearchRegistry;
  groupCommit: AuditGroupCommit;
  now?: () => Date;
}

export class AuditRecorder implements SecurityAuditSink {
  private readonly now: () => Date;
  private readonly eventIndex: AuditEventIndexer;

  constructor(private readonly options: AuditRecorderOptions) {
    this.now = options.now ?? (() => new Date());
    this.eventIndex = new AuditEventIndexer(options.registry);
  }

  /** The hooks with interactionCompleted recording here; authorization and outbox are `base`'s. */
  hooks(base: InteractionHooks): InteractionHooks {
    return {
      authorize: (request, target) => base.authorize(request, target),
      resourceChanged: (store, request, change) => base.resourceChanged(store, request, change),
      interactionCompleted: async (unit, store) => {
        await base.interactionCompleted(unit, store);
        await this.interactionCompleted(unit, store);
      },
    };
  }

  async interactionCompleted(unit: CompletedInteraction, store?: ResourceStore): Promise<void> {
    const { request } = unit;
    const event = restEventOf(unit.target, { bundleEntry: request.bundleEntry });
    if (!event) return; // the CapabilityStatement is not audited
    const { entities, patients } = accessedOf(unit);
    const end = this.now();
    const input: AuditInput = {
      event,
      outcome: { status: unit.status, ...(unit.code ? { code: unit.code } : {}) },
      period: { start: unit.started, end },
      recorded: end,
      caller: request.access,
      ...(request.clientAddress ? { network: request.clientAddress } : {}),
      server: { observer: this.options.observer, tenantBase: request.baseUrl },
      request: requestOf(request),
      entities,
      patients,
    };
    const rows = auditRowsOf(request.tenantId, buildAuditEvents(input), this.indexOf);
    if (store) await store.audit.appendAuditEvents(rows);
    else await this.options.groupCommit.append(request.tenantId, rows);
  }

  async record(tenantId: string, tenantBase: string, entry: SecurityAuditEntry): Promise<void> {
    const end = this.now();
    const input: AuditInput = {
      event: { kind: 'security', event: entry.event },
      outcome: { status: entry.status, ...(entry.code ? { code: entry.code } : {}) },
      period: { start: entry.started, end },
      recorded: end,
      caller: { subject: entry.caller.subject ?? 'anonymous', clientId: entry.caller.clientId, fhirUser: entry.caller.fhirUser, tokenId: entry.caller.tokenId },
      ...(entry.network ? { network: entry.network } : {}),
      server: { observer: this.options.observer, tenantBase },
      ...(entry.request ? { request: entry.request } : {}),
    };
    await this.options.groupCommit.append(tenantId, auditRowsOf(tenantId, buildAuditEvents(input), this.indexOf));
  }

  private readonly indexOf = (resource: JsonObject): JsonObject => this.eventIndex.index(resource as unknown as AuditEvent) as unknown as JsonObject;
}
