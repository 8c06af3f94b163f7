// The places where authorization, audit and outbox plug into every interaction
// (ARCHITECTURE.md "Layers"). REST, batch, transaction and operations all pass through
// FhirService, so each hook runs once per interaction whatever the entry point.
import type { ResourceStore } from '../storage/resource-store.js';
import type { FhirRequest } from '../core/types.js';

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
}

export interface InteractionHooks {
  /** Before any data is touched; throw a FhirError (403) to refuse. */
  authorize(request: FhirRequest, target: InteractionTarget): Promise<void>;
  /** Inside the write transaction, after a new version is stored (transactional outbox). */
  resourceChanged(store: ResourceStore, request: FhirRequest, change: ResourceChange): Promise<void>;
  /** After the interaction finished, successfully or not (AuditEvent). Must not throw. */
  interactionCompleted(request: FhirRequest, target: InteractionTarget, status: number): Promise<void>;
}

/** Until the SMART, audit and outbox issues land: allow everything, record nothing. */
export const NO_HOOKS: InteractionHooks = Object.freeze({
  authorize: async () => undefined,
  resourceChanged: async () => undefined,
  interactionCompleted: async () => undefined,
});
