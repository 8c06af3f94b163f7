// The search index of an AuditEvent row (the `sp` column the auditors' searches read), computed
// with the R4 indexer — but not all of it for every event: the parts about who and where (type,
// subtype, action, outcome, agents, source) repeat across the events of one caller and server,
// and their string parameters (address, agent-name, with prefix entries) are the dearest to
// index. They are indexed once per distinct value and reused, as are the entities' kinds (their
// type and role codings, with :text entries); only what differs per event (the entities' `what`
// and `query`, the period and recorded time) is indexed per event. No R4 AuditEvent search
// parameter reads across these parts, so the union is exactly what indexing the whole event
// gives (test/unit/audit-event-index.test.ts).
import type { AuditEvent } from 'fhir/r4.js';
import type { JsonObject } from '../core/types.js';
import { createIndexer, type Indexer } from '../search/indexer.js';
import type { SearchRegistry } from '../search/registry/registry.js';
import type { SearchIndex, SearchParamDef } from '../search/types.js';

/**
 * The parameters that can read the per-event part (entities without their kinds, period,
 * recorded): the per-event indexer evaluates only these, a quarter of AuditEvent's parameters
 * (every one was evaluated for every event, and found nothing in most).
 */
export function readsEventPart(def: SearchParamDef): boolean {
  return /\b(entity|recorded|period)\b/.test(def.expression);
}

/** Distinct "who and where" parts kept (callers × servers × outcomes); the oldest goes first. */
const MAX_SHARED = 2000;

export class AuditEventIndexer {
  private readonly shared = new Map<string, SearchIndex>();

  private readonly indexer: Indexer;
  /** The per-event part's indexer: the registry's, limited to readsEventPart. */
  private readonly perEvent: Indexer;

  constructor(registry: SearchRegistry) {
    this.indexer = createIndexer(registry);
    this.perEvent = createIndexer(registry, readsEventPart);
  }

  index(event: AuditEvent): SearchIndex {
    const { id: _id, meta: _meta, entity = [], period, recorded, ...who } = event;
    const kinds = entity.map(({ type, role }) => ({ ...(type ? { type } : {}), ...(role ? { role } : {}) }));
    const rest = entity.map(({ type: _type, role: _role, ...other }) => other);
    const own = this.perEvent({ resourceType: 'AuditEvent', entity: rest, period, recorded } as unknown as JsonObject);
    return { ...this.cached(who as unknown as JsonObject), ...this.cached({ resourceType: 'AuditEvent', entity: kinds }), ...own };
  }

  private cached(part: JsonObject): SearchIndex {
    const key = JSON.stringify(part);
    let index = this.shared.get(key);
    if (!index) {
      index = this.indexer(part);
      if (this.shared.size >= MAX_SHARED) this.shared.delete(this.shared.keys().next().value as string);
      this.shared.set(key, index);
    }
    return index;
  }
}
