// The delivery side of the outbox (issue 13, docs/adr/0020-outbox-and-delivery.md): what the
// relay and the delivery workers do to outbox rows, across tenants, and what operators do to
// destinations and dead letters. PostgreSQL holds every delivery's state; the queue only
// schedules looks at it. Every statement names its tenant and touches one tenant's rows, so
// each runs on one shard when the tables are distributed by tenant (Citus refuses FOR UPDATE
// across shards).
import type { OutboxChannel, OutboxEntry } from './outbox-store.js';

/** How Hearth authenticates to a sync destination. Secrets never leave the server through the admin API. */
export type DestinationAuth =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  /** SMART Backend Services (client credentials, private_key_jwt with a key Hearth holds). */
  | { kind: 'smart-backend'; tokenUrl: string; clientId: string; scope: string; privateJwk: Record<string, unknown>; alg?: string };

/** 'put': PUT [base]/[type]/[id] (same id); 'conditional': PUT [base]/[type]?identifier=system|value (the first identifier). */
export type SyncMode = 'put' | 'conditional';

export interface SyncDestination {
  tenantId: string;
  /** The operator's name for it (an id: letters, digits, '-', '.'). */
  id: string;
  /** FHIR base URL of the partner, e.g. https://iis.example.org/fhir (no trailing slash). */
  endpoint: string;
  /** Resource types sent there. */
  resourceTypes: string[];
  /** Optional search criteria, each `Type?query` (e.g. `Immunization?status=completed`); a type without one sends every resource. */
  criteria: string[];
  auth: DestinationAuth;
  mode: SyncMode;
  enabled: boolean;
  /** Which transport sends it ('fhir' today; an HL7 v2 VXU transport can be added beside it). */
  transport: string;
  createdAt: Date;
}


/** An outbox row as the worker and the admin API see it. */
export interface OutboxRow extends Omit<OutboxEntry, 'id'> {
  tenantId: string;
  id: string;
  createdAt: Date;
  status: 'pending' | 'queued' | 'dead';
  hand: number;
  dueAt: Date | null;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastOutcome: unknown;
  deadAt: Date | null;
}

export interface HandedJob {
  tenantId: string;
  outboxId: string;
  hand: number;
  delayMs: number;
}

/** The version a claimed delivery sends: the resource as it is now (skipping to the latest is allowed). */
export interface ClaimedResource {
  versionId: number;
  deleted: boolean;
  content: string | null;
  /** For a delete: the last version before it. */
  previousContent: string | null;
}

export type Claim =
  | { kind: 'stale' }
  /** Another worker holds the resource's lease: try again later. */
  | { kind: 'busy' }
  /** Nothing to send (a later version went already, or a delete of what was never sent): the row is gone. */
  | { kind: 'done' }
  | { kind: 'deliver'; row: OutboxRow; lease: string; resource: ClaimedResource; destination?: SyncDestination; subscription?: { content: string } };

export interface DeliveryStore {
  /** Tenants with rows to hand over (pending, or queued but not started `staleMs` after they were due). */
  tenantsWithWork(staleMs: number): Promise<string[]>;
  /**
   * Takes up to `limit` such rows of one tenant (locked, skipping rows another relay holds),
   * gives them to `accept` (the queue) and marks them queued only when it resolves.
   */
  handOver(tenantId: string, limit: number, staleMs: number, accept: (jobs: HandedJob[]) => Promise<void>): Promise<number>;
  claim(tenantId: string, outboxId: string, hand: number, leaseMs: number): Promise<Claim>;
  /** Delivered `versionId` (or the handshake): later rows of the resource up to it are gone; the lease is released. */
  complete(row: OutboxRow, lease: string, versionId: number): Promise<void>;
  /** An attempt failed: counted, and scheduled again after `delayMs`, or dead-lettered. Returns the row's new hand. */
  fail(row: OutboxRow, lease: string, failure: { status?: number; reason: string; outcome?: unknown; dead: boolean; delayMs: number }): Promise<number>;
  /** Not attempted (the destination's circuit is open): scheduled again after `delayMs`, no attempt counted. Returns the new hand. */
  postpone(row: OutboxRow, lease: string, delayMs: number): Promise<number>;
  recordBreaker(tenantId: string, destination: string, state: 'closed' | 'open' | 'half-open'): Promise<void>;
  /** Outbox backlog per channel and the age of the oldest live row, across tenants (metrics). */
  backlog(): Promise<{ byChannel: { channel: OutboxChannel; count: number }[]; oldestAgeSeconds: number | null }>;
}

/** A destination as an operator gives it: the stored one without what the store adds. */
export type DestinationInput = Omit<SyncDestination, 'tenantId' | 'createdAt'>;

export interface DestinationStatus {
  id: string;
  backlog: number;
  oldestAgeSeconds: number | null;
  deadLetters: number;
  breaker: { state: 'closed' | 'open' | 'half-open'; changedAt: Date; openedCount: number } | null;
}

/** What operators do (admin API, `hearth sync`), in one tenant. */
export interface SyncAdminStore {
  putDestination(input: DestinationInput): Promise<SyncDestination>;
  listDestinations(): Promise<SyncDestination[]>;
  getDestination(id: string): Promise<SyncDestination | undefined>;
  /** Removes it with its undelivered rows and cursors; false when there was none. */
  removeDestination(id: string): Promise<boolean>;
  status(): Promise<DestinationStatus[]>;
  deadLetters(filter: { target?: string; limit: number }): Promise<OutboxRow[]>;
  outboxRow(id: string): Promise<OutboxRow | undefined>;
  /** A dead letter goes back to pending with its attempts reset; false when there is no such dead letter. */
  replay(id: string): Promise<boolean>;
  discard(id: string): Promise<boolean>;
}
