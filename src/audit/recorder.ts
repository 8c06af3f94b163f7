// Records every interaction and security event as AuditEvents (issue 11 "Recording"; IHE BALP
// RESTful and User Authentication patterns). The FHIR service calls interactionCompleted for
// each interaction and bundle entry (src/fhir/hooks.ts); the authorization server calls record
// (src/audit/security-sink.ts). What is recorded on the request path is one journal entry per
// interaction, the AuditEvent builder's input (docs/adr/0016-audit-journal.md); the expander turns
// entries into the trail's AuditEvents. Where the entry goes decides durability
// (docs/adr/0014-recording-in-the-request-path.md): with the write's store it is appended in its
// transaction (through the write buffer, in the versions' statement); otherwise it goes through
// the group commit, awaited. Either way a failure to write it fails the request
// (AuditUnavailable). Before an interaction that reads the trail, the tenant's journal is expanded.
import type { CompletedInteraction, InteractionHooks } from '../fhir/hooks.js';
import type { ResourceStore } from '../storage/resource-store.js';
import { AuditUnavailable } from '../fhir/audit-unavailable.js';
import { requestOf, restEventOf, type AuditInput } from './balp/index.js';
import { accessedOf } from './accessed.js';
import type { AuditGroupCommit } from './group-commit.js';
import { journalEntryOf } from './journal.js';
import type { AuditJournalExpander } from './journal-expander.js';
import { expandsJournalFirst } from './reads-trail.js';
import type { SecurityAuditEntry, SecurityAuditSink } from './security-sink.js';

export interface AuditRecorderOptions {
  /** AuditEvent.source.observer: this server (balp observerId()). */
  observer: string;
  groupCommit: AuditGroupCommit;
  /** Expands the journal: in the background after appends, and before the trail is read. */
  expander: Pick<AuditJournalExpander, 'noteAppended' | 'drain'>;
  now?: () => Date;
}

export class AuditRecorder implements SecurityAuditSink {
  private readonly now: () => Date;

  constructor(private readonly options: AuditRecorderOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The hooks with interactionCompleted recording here; authorization and outbox are `base`'s. */
  hooks(base: InteractionHooks): InteractionHooks {
    return {
      authorize: async (request, target) => {
        await base.authorize(request, target);
        if (!expandsJournalFirst(request, target)) return;
        try {
          await this.options.expander.drain(request.tenantId);
        } catch (error) {
          throw new AuditUnavailable(error); // the trail the auditor would see is incomplete
        }
      },
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
    const entry = journalEntryOf(request.tenantId, input);
    if (store) await store.audit.appendAuditJournal([entry]);
    else await this.options.groupCommit.append(request.tenantId, [entry]);
    this.options.expander.noteAppended(request.tenantId);
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
    await this.options.groupCommit.append(tenantId, [journalEntryOf(tenantId, input)]);
    this.options.expander.noteAppended(tenantId);
  }
}
