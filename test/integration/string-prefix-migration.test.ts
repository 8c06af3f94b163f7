// Migration 0008 (string prefix entries): rows indexed before it get the same "<code>:prefix"
// entries that src/search/params/string.ts writes today, so prefix searches still find them.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, migrationsDir } from '../../src/storage/pg/migrate.js';
import { createTenant } from '../../src/storage/pg/tenant-admin.js';
import { createIndexer } from '../../src/search/indexer.js';
import { createSearchRegistry } from '../../src/search/registry/registry.js';
import { dropDatabase, ensureDatabase, requireServices, TEST_DATABASE_URL } from '../support/services.js';

const MIGRATION = '0008_string_prefix_entries.sql';

const patients = [
  { resourceType: 'Patient', id: 'p1', name: [{ family: 'Müller-Lüdenscheidt', given: ['Zoë', 'A'] }], address: [{ city: 'Besançon', line: ['1 Rue'] }] },
  { resourceType: 'Patient', id: 'p2', name: [{ family: 'Ng', text: '😀😀 Smiley' }] },
  { resourceType: 'Patient', id: 'p3', gender: 'female' },
];

/** JSON text with object keys sorted (jsonb keeps its own key order). */
const canonical = (value: unknown): string =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`
    : JSON.stringify(value);

/** Arrays compared as sets: the migration aggregates entries in its own order. */
const normalized = (sp: Record<string, unknown[]>) =>
  Object.fromEntries(Object.entries(sp).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, v.map(canonical).sort()]));

describe('migration 0008: string prefix entries (integration)', function () {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/hearth_prefix_migration_${process.pid}`;
  let pool: pg.Pool;
  let earlier: string;

  before(async function () {
    await requireServices(this);
    await ensureDatabase(url.toString());
    pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
    earlier = await mkdtemp(join(tmpdir(), 'hearth-migrations-'));
    for (const file of await readdir(migrationsDir())) if (file < MIGRATION) await copyFile(join(migrationsDir(), file), join(earlier, file));
  });

  after(async () => {
    await pool?.end();
    if (earlier) await rm(earlier, { recursive: true, force: true });
    await dropDatabase(url.toString());
  });

  it('adds to rows indexed before it exactly the prefix entries the indexer writes now', async () => {
    await migrate(pool, earlier);
    await createTenant(pool, { id: 'acme', name: 'Acme', dedicatedPartition: false });
    const indexer = createIndexer(createSearchRegistry());
    const expected = new Map(patients.map((p) => [p.id, indexer(p)]));
    assert.ok(Object.keys(expected.get('p1')!).includes('name:prefix'), 'the indexer writes prefix entries');

    // Rows as an earlier version stored them: the same index without the prefix entries,
    // written with SQL of their own (today's repository needs the schema of today's migrations).
    for (const p of patients) {
      const old = Object.fromEntries(Object.entries(expected.get(p.id)!).filter(([key]) => !key.endsWith(':prefix')));
      await pool.query(
        'INSERT INTO patient (tenant_id, id, version_id, last_updated, deleted, content, sp) VALUES ($1, $2, 1, now(), false, $3, $4)',
        ['acme', p.id, JSON.stringify(p), old],
      );
    }

    const applied = await migrate(pool);
    assert.deepEqual(applied.applied, [MIGRATION, ...applied.applied.slice(1)]);
    const { rows } = await pool.query<{ id: string; sp: Record<string, unknown[]> }>("SELECT id, sp FROM patient WHERE tenant_id = 'acme' ORDER BY id");
    assert.equal(rows.length, patients.length);
    for (const row of rows) assert.deepEqual(normalized(row.sp), normalized(expected.get(row.id) as Record<string, unknown[]>), row.id);
  });
});
