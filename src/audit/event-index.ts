// The search index of an AuditEvent row (the `sp` column the auditors' searches read), computed
// with the R4 indexer — but not all of it for every event: the parts about who and where (type,
// subtype, action, outcome, agents, source) repeat across the events of one caller and server,
// and their string parameters (address, agent-name, with prefix entries) are the dearest to
// index. They are indexed once per distinct value and reused, as are the entities' kinds (their
// type and role codings, with :text entries); only what differs per event (the entities' `what`
// and `query`, the period and recorded time) is indexed per event. A parameter that reads
// several parts (`patient`: agent.who and entity.what) gets the entries of each, so the union is
// exactly what indexing the whole event gives (test/unit/audit-event-index.test.ts).
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

/**
 * The union of indexes of parts of one event. A parameter may read more than one part — R4's
 * `patient` is agent.who and entity.what — so a key's entries are concatenated, each once, in
 * the parts' order (what the whole event's evaluation gives), never replaced.
 */
function merged(parts: readonly SearchIndex[]): SearchIndex {
  const out: SearchIndex = {};
  for (const part of parts) {
    for (const [key, entries] of Object.entries(part)) {
      const have = out[key];
      if (!have) out[key] = entries;
      else {
        const seen = new Set(have.map((e) => JSON.stringify(e)));
        out[key] = [...have, ...entries.filter((e) => !seen.has(JSON.stringify(e)))];
      }
    }
  }
  return out;
}

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
    return merged([this.cached(who as unknown as JsonObject), this.cached({ resourceType: 'AuditEvent', entity: kinds }), own]);
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
