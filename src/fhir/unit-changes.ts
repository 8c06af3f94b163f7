// The versions one interaction wrote, collected as it runs so that its completion hook can name
// them (issue 11: "completion is awaited, per entry, with the references read or written").
// Collected per store: a REST interaction has a store of its own; a transaction's entries share
// one and run one after another, so each entry starts a fresh collection before it runs.
import type { ResourceStore } from '../storage/resource-store.js';
import type { ResourceChange } from './hooks.js';

const collections = new WeakMap<ResourceStore, ResourceChange[]>();

/** Starts collecting what is written through `store`; the array fills as writes happen. */
export function collectChanges(store: ResourceStore): ResourceChange[] {
  const changes: ResourceChange[] = [];
  collections.set(store, changes);
  return changes;
}

/** Called by storeVersion for every version written. */
export function noteChange(store: ResourceStore, change: ResourceChange): void {
  collections.get(store)?.push(change);
}
