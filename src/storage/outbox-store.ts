// The tenant side of the transactional outbox (issue 13, docs/adr/0020-outbox-and-delivery.md):
// what a writing transaction reads to know which sync destinations and Subscriptions a change
// goes to, and the rows it appends for them, in the same transaction as the change. A bundle's
// write buffer holds appended rows and sends them with its versions' multi-row statements.

export type OutboxChannel = 'sync' | 'subscription';

/** One delivery owed: the change (resource version) and where it goes. */
export interface OutboxEntry {
  /** uuid v7 (time-ordered). */
  id: string;
  channel: OutboxChannel;
  /** The sync destination's id or the Subscription's id. */
  target: string;
  resourceType: string;
  resourceId: string;
  versionId: number;
  action: 'create' | 'update' | 'delete' | 'handshake';
}

/** A sync destination as the rules need it (no secrets). */
export interface DestinationRule {
  id: string;
  resourceTypes: string[];
  criteria: string[];
}

/** What the tenant's rules are compiled from. */
export interface OutboxRuleSource {
  destinations: DestinationRule[];
  /** Current, non-deleted Subscriptions: id and JSON text. */
  subscriptions: { id: string; content: string }[];
}

export interface OutboxStore {
  /** The tenant's rules generation: moves whenever a destination or a Subscription changes (read with BEGIN when writing). */
  rulesGeneration(): Promise<string>;
  readRules(): Promise<OutboxRuleSource>;
  /** Appends rows in this transaction (a write buffer holds them until its next statement). */
  append(entries: readonly OutboxEntry[]): Promise<void>;
}

/** For stores without an outbox (unit tests): no rules, nothing appended. */
export const NO_OUTBOX: OutboxStore = Object.freeze({
  rulesGeneration: async () => '0',
  readRules: async () => ({ destinations: [], subscriptions: [] }),
  append: async () => undefined,
});
