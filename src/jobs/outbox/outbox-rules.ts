// A tenant's outbox rules compiled once per rules generation (issue 13 "Transactional outbox"):
// its sync destinations (resource types and optional criteria) and its active rest-hook
// Subscriptions (criteria), matched against each change in memory by the search layer's
// matcher (src/search/criteria-match.ts), so a write costs no query to know where it goes.
import type { JsonObject } from '../../core/types.js';
import type { SearchRegistry } from '../../search/registry/registry.js';
import { compileCriteria, type CompiledCriteria } from '../../search/criteria-match.js';
import type { SearchIndex } from '../../search/types.js';
import type { OutboxChannel, OutboxRuleSource } from '../../storage/outbox-store.js';
import { readSubscription } from '../subscriptions/subscription-channel.js';

interface Rule {
  channel: OutboxChannel;
  target: string;
  /** Criteria of this type; empty: every resource of the type. */
  criteria: CompiledCriteria[];
}

export interface OutboxRules {
  /** Where a version of `type` goes: one (channel, target) per matching rule. */
  targets(type: string, id: string, index: SearchIndex | null, action: 'create' | 'update' | 'delete', lastUpdated: Date): { channel: OutboxChannel; target: string }[];
  readonly empty: boolean;
}

export const NO_RULES: OutboxRules = Object.freeze({ targets: () => [], empty: true });

/** Criteria that no longer compile (a custom parameter removed since) match nothing rather than everything. */
function compileOrNull(registry: SearchRegistry, criteria: string): CompiledCriteria | null {
  try {
    return compileCriteria(registry, criteria);
  } catch {
    return null;
  }
}

/** The resource type a criteria string (`Type?query`, `/Type`) is about. */
const criteriaType = (criteria: string): string => criteria.replace(/^\//, '').split('?')[0];

export function compileRules(registry: SearchRegistry, source: OutboxRuleSource): OutboxRules {
  const byType = new Map<string, Rule[]>();
  const add = (type: string, rule: Rule) => {
    const list = byType.get(type) ?? [];
    list.push(rule);
    byType.set(type, list);
  };
  for (const d of source.destinations) {
    for (const type of d.resourceTypes) {
      const declared = d.criteria.filter((c) => criteriaType(c) === type);
      const criteria = declared.map((c) => compileOrNull(registry, c)).filter((c): c is CompiledCriteria => c !== null);
      // Criteria declared for the type, none of which compiles any more: send nothing rather than everything.
      if (declared.length > 0 && criteria.length === 0) continue;
      add(type, { channel: 'sync', target: d.id, criteria });
    }
  }
  for (const s of source.subscriptions) {
    const channel = readSubscription(s.id, JSON.parse(s.content) as JsonObject);
    if (channel.status !== 'active' || channel.channelType !== 'rest-hook') continue;
    const compiled = compileOrNull(registry, channel.criteria);
    if (!compiled) continue;
    add(compiled.resourceType, { channel: 'subscription', target: s.id, criteria: [compiled] });
  }
  if (byType.size === 0) return NO_RULES;
  return {
    empty: false,
    targets(type, id, index, action, lastUpdated) {
      const rules = byType.get(type);
      if (!rules) return [];
      const out: { channel: OutboxChannel; target: string }[] = [];
      for (const rule of rules) {
        // A delete goes to every sync destination of its type (the worker sends it only where an
        // earlier version was delivered); Subscriptions are told of versions that match, not of deletes.
        if (action === 'delete') {
          if (rule.channel === 'sync') out.push({ channel: rule.channel, target: rule.target });
          continue;
        }
        if (rule.criteria.length === 0 || (index !== null && rule.criteria.some((c) => c.matches(id, index, lastUpdated)))) out.push({ channel: rule.channel, target: rule.target });
      }
      return out;
    },
  };
}
