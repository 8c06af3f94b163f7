// The places where authorization, audit and outbox plug into every interaction
// (ARCHITECTURE.md "Layers"). REST, batch, transaction, operations and `hearth load` all pass
// through FhirService, so each hook runs once per interaction (and per bundle entry) whatever
// the entry point.
import type { ResourceStore } from '../storage/resource-store.js';
import type { FhirRequest, FhirResponse } from '../core/types.js';

export type InteractionName =
  | 'capabilities'
  | 'read'
  | 'vread'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'search-type'
  | 'search-system'
  | 'operation'
  | 'transaction'
  | 'batch';

export interface InteractionTarget {
  interaction: InteractionName;
  resourceType?: string;
  id?: string;
  /** For 'search-system': the types named by _type (absent: every type the tenant has rows of). */
  resourceTypes?: readonly string[];
  /** For 'operation': its name without '$' (e.g. 'reindex'). */
  operation?: string;
}

export interface ResourceChange {
  action: 'create' | 'update' | 'delete';
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  /**
   * The JSON text of the version written; for a delete, of the version it removed (so the audit
   * trail knows whose data it was). Read it, never parse it on the hot path without need.
   */
  content: string | null;
  /** The search index of the version written (null for a delete): what sync rules and Subscription criteria match in memory. */
  searchIndex?: object | null;
}

/**
 * One interaction as it ended (issue 11 "Recording": the hook contract is a unit of work). For
 * a batch or transaction, one per entry (`request.bundleEntry` says which); a transaction that
 * fails as a whole is one unit of its own.
 */
export interface CompletedInteraction {
  request: FhirRequest;
  target: InteractionTarget;
  /** When the service started on it (AuditEvent.period.start). */
  started: Date;
  /** The status answered. */
  status: number;
  /** On failure, the OperationOutcome issue type (e.g. 'forbidden', 'not-found'). */
  code?: string;
  /** The answer, when it succeeded (reads and searches: what the client receives). */
  response?: FhirResponse;
  /** The versions this interaction wrote, in order (the references written). */
  changes: readonly ResourceChange[];
}

export interface InteractionHooks {
  /** Before any data is touched; throw a FhirError (403) to refuse. */
  authorize(request: FhirRequest, target: InteractionTarget): Promise<void>;
  /** Inside the write transaction, after a new version is stored (transactional outbox). */
  resourceChanged(store: ResourceStore, request: FhirRequest, change: ResourceChange): Promise<void>;
  /**
   * An interaction ended, successfully or not; awaited before the response is sent. With
   * `store` (a write that succeeded), it runs inside the write's transaction, before commit:
   * what it stores commits with the write or not at all. Without (reads, failures, refusals),
   * the transaction is over. Throwing fails the request (a FhirError 503 when the audit trail
   * cannot be written): the response is not sent.
   */
  interactionCompleted(unit: CompletedInteraction, store?: ResourceStore): Promise<void>;
}

/** Allow everything, record nothing (unit tests, and HEARTH_AUDIT=off). */
export const NO_HOOKS: InteractionHooks = Object.freeze({
  authorize: async () => undefined,
  resourceChanged: async () => undefined,
  interactionCompleted: async () => undefined,
});
