// BulkSharedTerminology on PostgreSQL (src/storage/shared-terminology-bulk.ts): many shared code
// system versions per statement, so the preload of ~1,900 small code systems is some 60
// statements, not 20,000. Measured on the preload (docs/terminology-import.md): rows as one JSON
// document (jsonb_to_recordset) or plain text arrays (unnest), never jsonb[] array literals, which
// cost several times more to escape and parse; closures computed here (closureOf, the same pairs
// as terminology-tables.ts writeClosure) rather than by recursive statements planned on freshly
// filled tables.
import type pg from 'pg';
import type { BulkSharedTerminology, BulkSharedTerminologyWriter, CodeSystemLoad, DefinitionLoad } from '../shared-terminology-bulk.js';
import type { ParentEdge } from '../terminology-store.js';
import { versionKey } from '../shared-terminology-bulk.js';
import { batches, propertyText } from './terminology-tables.js';
import { inOwnerTransaction } from './owner-transaction.js';

/** Definitions per statement: whole CodeSystems with their concepts can be large. */
const DEFINITIONS_PER_STATEMENT = 500;

/** The id a definition is stored under: its own, or one made from its url (as PgSharedTerminology does). */
const definitionId = (resource: { id?: unknown; url: string }) =>
  typeof resource.id === 'string' ? resource.id : resource.url.replace(/[^A-Za-z0-9.-]+/g, '-').slice(-64);

const dedupe = (edges: readonly ParentEdge[]): ParentEdge[] => {
  const seen = new Set<string>();
  return edges.filter((e) => !seen.has(`${e.child}\u0000${e.parent}`) && seen.add(`${e.child}\u0000${e.parent}`) !== undefined);
};

/**
 * The reflexive transitive closure of a version's is-a edges as [ancestor, descendant] pairs, as
 * terminology-tables.ts writeClosure defines it: each pair once however many paths reach it, a
 * cycle ends, ancestors the version does not define are left out.
 */
export function closureOf(load: Pick<CodeSystemLoad, 'concepts' | 'edges'>): [string, string][] {
  const codes = new Set(load.concepts.map((c) => c.code));
  const parents = new Map<string, string[]>();
  for (const { child, parent } of load.edges) {
    const list = parents.get(child);
    if (list) list.push(parent);
    else parents.set(child, [parent]);
  }
  const pairs: [string, string][] = [];
  for (const code of codes) {
    const seen = new Set([code]);
    const stack = [code];
    while (stack.length > 0) {
      for (const parent of parents.get(stack.pop()!) ?? []) {
        if (seen.has(parent)) continue;
        seen.add(parent);
        stack.push(parent);
      }
    }
    for (const ancestor of seen) if (codes.has(ancestor)) pairs.push([ancestor, code]);
  }
  return pairs;
}

class PgBulkWriter implements BulkSharedTerminologyWriter {
  constructor(private readonly client: pg.ClientBase) {}

  async hasCodeSystem(url: string, version: string): Promise<boolean> {
    const { rowCount } = await this.client.query('SELECT 1 FROM terminology_code_system WHERE url = $1 AND version = $2', [url, version]);
    return (rowCount ?? 0) > 0;
  }

  async loadedCodeSystems(versions: readonly { url: string; version: string }[]): Promise<Set<string>> {
    if (versions.length === 0) return new Set();
    const { rows } = await this.client.query<{ url: string; version: string }>(
      'SELECT cs.url, cs.version FROM terminology_code_system cs JOIN unnest($1::text[], $2::text[]) AS k (url, version) ON cs.url = k.url AND cs.version = k.version',
      [versions.map((v) => v.url), versions.map((v) => v.version)],
    );
    return new Set(rows.map((r) => versionKey(r.url, r.version)));
  }

  async loadCodeSystems(loads: readonly CodeSystemLoad[]): Promise<{ concepts: number; closureRows: number }> {
    if (loads.length === 0) return { concepts: 0, closureRows: 0 };
    // Rows go in as one JSON document per statement (jsonb_to_recordset): jsonb[] array literals
    // cost far more to escape and parse, on PGlite above all.
    const { rows } = await this.client.query<{ id: string; url: string; version: string }>(
      'INSERT INTO terminology_code_system (url, version, name, title, status, content, case_sensitive, hierarchy_meaning, source, property_defs, resource, concept_count) ' +
        'SELECT * FROM jsonb_to_recordset($1::jsonb) AS x (url text, version text, name text, title text, status text, content text, case_sensitive boolean, ' +
        'hierarchy_meaning text, source text, property_defs jsonb, resource jsonb, concept_count int) RETURNING id::text AS id, url, version',
      [
        JSON.stringify(
          loads.map(({ header: h, concepts }) => ({
            url: h.url,
            version: h.version,
            name: h.name ?? null,
            title: h.title ?? null,
            status: h.status ?? null,
            content: h.content,
            case_sensitive: h.caseSensitive,
            hierarchy_meaning: h.hierarchyMeaning ?? null,
            source: h.source,
            property_defs: h.propertyDefs,
            resource: h.resource ?? null,
            concept_count: concepts.length,
          })),
        ),
      ],
    );
    const ids = new Map(rows.map((r) => [versionKey(r.url, r.version), r.id]));
    const idOf = (l: CodeSystemLoad) => ids.get(versionKey(l.header.url, l.header.version))!;
    const concepts = loads.flatMap((l) => l.concepts.map((c) => ({ id: idOf(l), c })));
    for (const batch of batches(concepts)) {
      const json = batch.map(({ id, c }) => ({
        code_system_id: id,
        code: c.code,
        display: c.display ?? null,
        active: c.active ?? true,
        designations: c.designations?.length ? c.designations : null,
        properties: c.properties?.length ? c.properties.map((p) => ({ ...p, text: p.text ?? propertyText(p) })) : null,
      }));
      await this.client.query(
        'INSERT INTO terminology_concept (code_system_id, code, display, active, designations, properties) ' +
          'SELECT * FROM jsonb_to_recordset($1::jsonb) AS x (code_system_id bigint, code text, display text, active boolean, designations jsonb, properties jsonb)',
        [JSON.stringify(json)],
      );
    }
    const edges = loads.flatMap((l) => dedupe(l.edges).map((e) => ({ id: idOf(l), e })));
    for (const batch of batches(edges)) {
      await this.client.query('INSERT INTO terminology_concept_parent (code_system_id, child, parent) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])', [
        batch.map((x) => x.id),
        batch.map((x) => x.e.child),
        batch.map((x) => x.e.parent),
      ]);
    }
    // Small code systems: their closures are computed here rather than by a recursive statement
    // per batch, whose plans on freshly filled tables were the preload's slowest part.
    const closure = loads.flatMap((l) => closureOf(l).map(([ancestor, descendant]) => ({ id: idOf(l), ancestor, descendant })));
    for (const batch of batches(closure)) {
      await this.client.query('INSERT INTO terminology_closure (code_system_id, ancestor, descendant) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])', [
        batch.map((x) => x.id),
        batch.map((x) => x.ancestor),
        batch.map((x) => x.descendant),
      ]);
    }
    return { concepts: concepts.length, closureRows: closure.length };
  }

  async putResources(definitions: readonly DefinitionLoad[]): Promise<void> {
    // One statement may not name a row twice (ON CONFLICT DO UPDATE): the last definition of a key wins.
    const byKey = new Map<string, DefinitionLoad>();
    for (const d of definitions) byKey.set(`${d.resourceType}|${versionKey(d.resource.url as string, typeof d.resource.version === 'string' ? d.resource.version : '')}`, d);
    const all = [...byKey.values()];
    for (let i = 0; i < all.length; i += DEFINITIONS_PER_STATEMENT) {
      const batch = all.slice(i, i + DEFINITIONS_PER_STATEMENT);
      // A row of parameters per definition (whole resources parsed one by one; as one document or
      // a jsonb[] literal they cost more to escape and parse).
      const values: unknown[] = [];
      const rows = batch.map((d) => {
        const n = values.push(d.resourceType, d.resource.url, typeof d.resource.version === 'string' ? d.resource.version : '', definitionId(d.resource as { id?: unknown; url: string }), d.source, JSON.stringify(d.resource));
        return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n}::jsonb)`;
      });
      await this.client.query(
        `INSERT INTO terminology_resource (resource_type, url, version, id, source, content) VALUES ${rows.join(', ')} ` +
          'ON CONFLICT (resource_type, url, version) DO UPDATE SET id = EXCLUDED.id, source = EXCLUDED.source, content = EXCLUDED.content',
        values,
      );
    }
  }

  async dropCodeSystems(versions: readonly { url: string; version: string }[]): Promise<number> {
    if (versions.length === 0) return 0;
    const { rowCount } = await this.client.query(
      'DELETE FROM terminology_code_system cs USING unnest($1::text[], $2::text[]) AS k (url, version) WHERE cs.url = k.url AND cs.version = k.version',
      [versions.map((v) => v.url), versions.map((v) => v.version)],
    );
    return rowCount ?? 0;
  }

  async bumpGeneration(): Promise<void> {
    await this.client.query('UPDATE terminology_generation SET generation = generation + 1');
  }
}

export class PgBulkSharedTerminology implements BulkSharedTerminology {
  constructor(private readonly pool: pg.Pool) {}

  async write<T>(work: (writer: BulkSharedTerminologyWriter) => Promise<T>): Promise<T> {
    return inOwnerTransaction(this.pool, (client) => work(new PgBulkWriter(client)));
  }
}
