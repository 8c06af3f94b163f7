// The transactional outbox's write side (issue 13; ARCHITECTURE.md "Side effects"): the
// `resourceChanged` hook, which runs inside the write's transaction for every version written
// (REST, batch and transaction entries, `hearth load`), appends one outbox row per sync
// destination and Subscription the version goes to. Rolled back with the write, committed with
// it. A tenant without destinations or Subscriptions pays for nothing but a comparison: the
// rules generation comes with BEGIN and the compiled rules stay in memory until it moves.
// Subscriptions are checked here too (subscription-writes.ts), so every entry point checks them.
import { uuidV7 } from '../../core/uuid-v7.js';
import type { JsonObject } from '../../core/types.js';
import type { InteractionHooks, ResourceChange } from '../../fhir/hooks.js';
import type { TenantSearchParameters } from '../../search/tenant-params.js';
import type { SearchIndex } from '../../search/types.js';
import type { OutboxEntry } from '../../storage/outbox-store.js';
import type { ResourceStore } from '../../storage/resource-store.js';
import { compileRules, type OutboxRules } from './outbox-rules.js';
import { checkSubscriptionWrite, type EndpointCheck } from '../subscriptions/subscription-writes.js';

const MAX_CACHED_TENANTS = 1000;

export interface OutboxRecorderOptions {
  searchParams: TenantSearchParameters;
  /** Refuses a Subscription endpoint Hearth may not reach (SSRF guard); undefined when allowed. */
  checkEndpoint: EndpointCheck;
}

export class OutboxRecorder {
  private readonly cache = new Map<string, { key: string; rules: OutboxRules }>();
  /** Rules read within one transaction; dropped when it writes a Subscription. */
  private readonly perStore = new WeakMap<ResourceStore, Promise<OutboxRules>>();
  /**
   * Transactions that wrote a Subscription: the generation read with BEGIN no longer describes
   * what they see, so their rules are compiled from what they read and never cached.
   */
  private readonly changedRules = new WeakSet<ResourceStore>();

  constructor(private readonly options: OutboxRecorderOptions) {}

  /** `base`'s hooks with the outbox appended to resourceChanged. */
  hooks(base: InteractionHooks): InteractionHooks {
    return {
      authorize: (request, target) => base.authorize(request, target),
      resourceChanged: async (store, request, change) => {
        await base.resourceChanged(store, request, change);
        await this.changed(store, change);
      },
      interactionCompleted: (unit, store) => base.interactionCompleted(unit, store),
    };
  }

  async changed(store: ResourceStore, change: ResourceChange): Promise<void> {
    const entries: OutboxEntry[] = [];
    if (change.resourceType === 'Subscription') {
      this.perStore.delete(store);
      this.changedRules.add(store);
      if (change.action !== 'delete' && change.content !== null) {
        const state = await this.options.searchParams.load(store);
        const { handshake } = await checkSubscriptionWrite(state.indexing, change.id, JSON.parse(change.content) as JsonObject, this.options.checkEndpoint);
        if (handshake) entries.push(this.entry(change, 'subscription', change.id, 'handshake'));
      }
    }
    const rules = await this.rules(store);
    if (!rules.empty) {
      const index = (change.searchIndex ?? null) as SearchIndex | null;
      for (const t of rules.targets(change.resourceType, change.id, index, change.action, change.lastUpdated)) entries.push(this.entry(change, t.channel, t.target, change.action));
    }
    if (entries.length > 0) await store.outbox.append(entries);
  }

  private entry(change: ResourceChange, channel: OutboxEntry['channel'], target: string, action: OutboxEntry['action']): OutboxEntry {
    return { id: uuidV7(), channel, target, resourceType: change.resourceType, resourceId: change.id, versionId: change.versionId, action };
  }

  private rules(store: ResourceStore): Promise<OutboxRules> {
    let rules = this.perStore.get(store);
    if (!rules) {
      rules = this.read(store);
      this.perStore.set(store, rules);
    }
    return rules;
  }

  private async read(store: ResourceStore): Promise<OutboxRules> {
    const state = await this.options.searchParams.load(store);
    if (this.changedRules.has(store)) return compileRules(state.indexing, await store.outbox.readRules());
    const generation = await store.outbox.rulesGeneration();
    const key = `${generation}:${state.generation}`;
    const cached = this.cache.get(store.tenantId);
    if (cached?.key === key) return cached.rules;
    const rules = compileRules(state.indexing, await store.outbox.readRules());
    if (this.cache.size >= MAX_CACHED_TENANTS) this.cache.clear();
    this.cache.set(store.tenantId, { key, rules });
    return rules;
  }
}
