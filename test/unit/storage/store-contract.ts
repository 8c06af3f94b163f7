// The ResourceStore/FhirRepository contract (src/storage/resource-store.ts) as one mocha suite,
// run against the in-memory store (test/unit/storage/memory-store.test.ts) and PostgreSQL
// (test/integration/store-contract.test.ts), so the two cannot drift apart.
import assert from 'node:assert/strict';
import { WriteConflict, type FhirRepository, type NewVersion, type RowReach, type StoredVersion } from '../../../src/storage/resource-store.js';

export interface ContractSubject {
  repository: FhirRepository;
  /** A tenant of its own for each test. */
  newTenant(): Promise<string>;
}

const T0 = Date.UTC(2026, 0, 1);
const at = (seconds: number) => new Date(T0 + seconds * 1000);

export function version(type: string, id: string, versionId: number, seconds: number, overrides: Partial<NewVersion> = {}): NewVersion {
  const deleted = overrides.deleted ?? false;
  return {
    resourceType: type,
    id,
    versionId,
    lastUpdated: at(seconds),
    deleted,
    content: deleted ? null : JSON.stringify({ resourceType: type, id, meta: { versionId: String(versionId) } }),
    method: versionId === 1 ? 'POST' : deleted ? 'DELETE' : 'PUT',
    status: versionId === 1 ? 201 : 200,
    searchIndex: deleted ? null : {},
    ...overrides,
  };
}

const position = (v: StoredVersion) => `${v.resourceType}/${v.id}/${v.versionId}`;

export function resourceStoreContract(name: string, subject: () => ContractSubject): void {
  describe(`ResourceStore contract: ${name}`, () => {
    let repo: FhirRepository;
    let tenant: string;
    beforeEach(async () => {
      const s = subject();
      repo = s.repository;
      tenant = await s.newTenant();
    });
    const write = (...versions: NewVersion[]) => repo.withTenant(tenant, async (store) => { for (const v of versions) await store.writeVersion(v); });
    const read = <T>(work: Parameters<FhirRepository['withTenant']>[1]) => repo.withTenant(tenant, work as never, { readOnly: true }) as Promise<T>;

    it('reads the current version (without method/status) and each version (with them)', async () => {
      await write(version('Patient', 'a', 1, 1), version('Patient', 'a', 2, 2));
      const current = await read<StoredVersion>((s) => s.readCurrent('Patient', 'a'));
      assert.deepEqual(current, { resourceType: 'Patient', id: 'a', versionId: 2, lastUpdated: at(2), deleted: false, content: version('Patient', 'a', 2, 2).content });
      const first = await read<StoredVersion>((s) => s.readVersion('Patient', 'a', 1));
      assert.deepEqual(first, { resourceType: 'Patient', id: 'a', versionId: 1, lastUpdated: at(1), deleted: false, content: version('Patient', 'a', 1, 1).content, method: 'POST', status: 201 });
      assert.equal(await read((s) => s.readVersion('Patient', 'a', 3)), undefined);
      assert.equal(await read((s) => s.readCurrent('Patient', 'b')), undefined);
      assert.equal(await read((s) => s.readCurrent('Observation', 'a')), undefined);
    });

    it('reads under a RowReach see only the reached resources: current, versions and history (SMART data constraint)', async () => {
      await write(version('Patient', 'a', 1, 1), version('Patient', 'a', 2, 2), version('Patient', 'b', 1, 3), version('Observation', 'o', 1, 4));
      // Reaches Patient/a only: by id in SQL and in memory alike.
      const onlyA: RowReach = {
        sql: (type, alias, bind) => (type === 'Patient' ? `${alias}.id = ${bind('a')}` : false),
        matches: (type, id) => type === 'Patient' && id === 'a',
      };
      assert.equal((await read<StoredVersion>((s) => s.readCurrent('Patient', 'a', { reach: onlyA })))?.versionId, 2);
      assert.equal(await read((s) => s.readCurrent('Patient', 'b', { reach: onlyA })), undefined, 'out of reach reads as absent');
      assert.equal(await read((s) => s.readCurrent('Observation', 'o', { reach: onlyA })), undefined, 'a type reached not at all');
      assert.equal((await read<StoredVersion>((s) => s.readVersion('Patient', 'a', 1, { reach: onlyA })))?.versionId, 1);
      assert.equal(await read((s) => s.readVersion('Patient', 'b', 1, { reach: onlyA })), undefined);
      const system = await read<StoredVersion[]>((s) => s.history({ count: 10, reach: onlyA }));
      assert.deepEqual(system.map(position), ['Patient/a/2', 'Patient/a/1']);
      assert.deepEqual(await read<StoredVersion[]>((s) => s.history({ resourceType: 'Patient', id: 'b', count: 10, reach: onlyA })), []);
      const everything: RowReach = { sql: () => undefined, matches: () => true };
      assert.equal((await read<StoredVersion[]>((s) => s.history({ count: 10, reach: everything }))).length, 4);
    });

    it('a tombstone is a current row with no content', async () => {
      await write(version('Patient', 'a', 1, 1), version('Patient', 'a', 2, 2, { deleted: true }));
      const current = await read<StoredVersion>((s) => s.readCurrent('Patient', 'a'));
      assert.equal(current.deleted, true);
      assert.equal(current.content, null);
    });

    it('readCurrentMany returns the present ones in id order', async () => {
      await write(version('Patient', 'c', 1, 1), version('Patient', 'a', 1, 1), version('Patient', 'b', 1, 1), version('Patient', 'b', 2, 2));
      const rows = await repo.withTenant(tenant, (s) => s.readCurrentMany('Patient', ['c', 'x', 'b', 'a'], { forUpdate: true }));
      assert.deepEqual(rows.map(position), ['Patient/a/1', 'Patient/b/2', 'Patient/c/1']);
      assert.deepEqual(await read((s) => s.readCurrentMany('Patient', [])), []);
    });

    it('writeVersions writes many types at once', async () => {
      await repo.withTenant(tenant, (s) => s.writeVersions([version('Patient', 'a', 1, 1), version('Observation', 'o', 1, 1), version('Patient', 'b', 1, 1)]));
      const rows = await read<StoredVersion[]>((s) => s.history({ count: 10 }));
      assert.deepEqual(rows.map(position).sort(), ['Observation/o/1', 'Patient/a/1', 'Patient/b/1']);
    });

    it('refuses a write whose base version moved (WriteConflict), keeping what was there', async () => {
      await write(version('Patient', 'a', 1, 1), version('Patient', 'a', 2, 2));
      await assert.rejects(write(version('Patient', 'a', 2, 3)), WriteConflict);
      await assert.rejects(write(version('Patient', 'a', 4, 3)), WriteConflict);
      await assert.rejects(write(version('Patient', 'a', 1, 3)), WriteConflict);
      await assert.rejects(repo.withTenant(tenant, (s) => s.writeVersions([version('Patient', 'b', 1, 3), version('Patient', 'a', 2, 3)])), WriteConflict);
      assert.equal((await read<StoredVersion>((s) => s.readCurrent('Patient', 'a'))).versionId, 2);
      assert.equal(await read((s) => s.readCurrent('Patient', 'b')), undefined);
    });

    it('of two transactions writing the same next version, one wins and one gets WriteConflict', async () => {
      await write(version('Patient', 'a', 1, 1));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const first = repo.withTenant(tenant, async (s) => {
        await s.writeVersion(version('Patient', 'a', 2, 2, { content: '{"first":true}' }));
        await gate;
      });
      await new Promise((r) => setTimeout(r, 20));
      const second = repo.withTenant(tenant, (s) => s.writeVersion(version('Patient', 'a', 2, 3, { content: '{"second":true}' })));
      setTimeout(release, 50);
      const outcomes = await Promise.allSettled([first, second]);
      assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
      const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      assert.ok(rejected?.reason instanceof WriteConflict, String(rejected?.reason));
      const current = await read<StoredVersion>((s) => s.readCurrent('Patient', 'a'));
      assert.equal(current.versionId, 2);
      assert.equal(current.content, outcomes[0].status === 'fulfilled' ? '{"first":true}' : '{"second":true}');
      assert.equal((await read<StoredVersion[]>((s) => s.history({ resourceType: 'Patient', id: 'a', count: 10 }))).length, 2);
    });

    it('a transaction that throws leaves nothing behind; its own reads saw its writes', async () => {
      await write(version('Patient', 'a', 1, 1));
      await assert.rejects(
        repo.withTenant(tenant, async (s) => {
          await s.writeVersion(version('Patient', 'a', 2, 2));
          await s.writeVersion(version('Patient', 'b', 1, 2));
          assert.equal((await s.readCurrent('Patient', 'a'))?.versionId, 2);
          assert.equal((await s.history({ count: 10 })).length, 3);
          throw new Error('abandon');
        }),
        /abandon/,
      );
      assert.equal((await read<StoredVersion>((s) => s.readCurrent('Patient', 'a'))).versionId, 1);
      assert.equal(await read((s) => s.readCurrent('Patient', 'b')), undefined);
      assert.deepEqual((await read<StoredVersion[]>((s) => s.history({ count: 10 }))).map(position), ['Patient/a/1']);
    });

    it('a read-only transaction cannot write', async () => {
      await assert.rejects(repo.withTenant(tenant, (s) => s.writeVersion(version('Patient', 'a', 1, 1)), { readOnly: true }));
      assert.equal(await read((s) => s.readCurrent('Patient', 'a')), undefined);
    });

    it('tenants do not see each other', async () => {
      const other = await subject().newTenant();
      await write(version('Patient', 'a', 1, 1));
      assert.equal(await repo.withTenant(other, (s) => s.readCurrent('Patient', 'a')), undefined);
      assert.deepEqual(await repo.withTenant(other, (s) => s.history({ count: 10 })), []);
      assert.equal((await repo.findTenant(tenant))?.id, tenant);
      assert.equal(await repo.findTenant('no-such-tenant'), undefined);
    });

    it('lockKeys takes keys for the rest of the transaction', async () => {
      await repo.withTenant(tenant, async (s) => {
        await s.lockKeys(['b', 'a']);
        await s.lockKeys(['a']);
      });
    });

    describe('history', () => {
      beforeEach(async () => {
        // Two resources of two types; Patient/b and Observation/o share an instant.
        await write(version('Patient', 'a', 1, 10), version('Patient', 'b', 1, 20), version('Observation', 'o', 1, 20));
        await write(version('Patient', 'a', 2, 30), version('Patient', 'a', 3, 40, { deleted: true }));
      });

      it('newest first by (lastUpdated, resourceType, id, versionId), with method and status', async () => {
        const rows = await read<StoredVersion[]>((s) => s.history({ count: 10 }));
        assert.deepEqual(rows.map(position), ['Patient/a/3', 'Patient/a/2', 'Patient/b/1', 'Observation/o/1', 'Patient/a/1']);
        assert.deepEqual([rows[0].method, rows[0].status, rows[0].deleted, rows[0].content], ['DELETE', 200, true, null]);
      });

      it('filters by type and instance', async () => {
        assert.deepEqual((await read<StoredVersion[]>((s) => s.history({ resourceType: 'Patient', count: 10 }))).map(position), ['Patient/a/3', 'Patient/a/2', 'Patient/b/1', 'Patient/a/1']);
        assert.deepEqual((await read<StoredVersion[]>((s) => s.history({ resourceType: 'Patient', id: 'b', count: 10 }))).map(position), ['Patient/b/1']);
      });

      it('returns count + 1 rows and continues strictly after a cursor, across types at one instant', async () => {
        const all = ['Patient/a/3', 'Patient/a/2', 'Patient/b/1', 'Observation/o/1', 'Patient/a/1'];
        const seen: string[] = [];
        let after: StoredVersion | undefined;
        for (let page = 0; page < 5; page++) {
          const rows = await read<StoredVersion[]>((s) => s.history({ count: 2, ...(after ? { after } : {}) }));
          assert.ok(rows.length <= 3);
          seen.push(...rows.slice(0, 2).map(position));
          if (rows.length <= 2) break;
          after = rows[1];
        }
        assert.deepEqual(seen, all);
        const cursor = { lastUpdated: at(20), resourceType: 'Patient', id: 'b', versionId: 1 };
        assert.deepEqual((await read<StoredVersion[]>((s) => s.history({ count: 10, after: cursor }))).map(position), ['Observation/o/1', 'Patient/a/1']);
      });

      it('_since is inclusive', async () => {
        assert.deepEqual((await read<StoredVersion[]>((s) => s.history({ count: 10, since: at(30) }))).map(position), ['Patient/a/3', 'Patient/a/2']);
      });

      it('_at: versions current at some point in [start, end)', async () => {
        const rows = await read<StoredVersion[]>((s) => s.history({ resourceType: 'Patient', id: 'a', count: 10, at: { start: at(15), end: at(35) } }));
        assert.deepEqual(rows.map(position), ['Patient/a/2', 'Patient/a/1']);
        const exact = await read<StoredVersion[]>((s) => s.history({ resourceType: 'Patient', id: 'a', count: 10, at: { start: at(30), end: at(31) } }));
        assert.deepEqual(exact.map(position), ['Patient/a/2']);
      });
    });

    describe('typed stores', () => {
      it('the load ledger records progress that never moves backwards, then completion', async () => {
        const key = { path: '/data/a.ndjson', sizeBytes: 10, sha256: 'ab' };
        assert.equal(await read((s) => s.loadLedger.find(key)), undefined);
        await repo.withTenant(tenant, (s) => s.loadLedger.progress(key, 5, 4));
        await repo.withTenant(tenant, (s) => s.loadLedger.progress(key, 3, 2));
        assert.deepEqual(await read((s) => s.loadLedger.find(key)), { completed: false, linesDone: 5, resources: 4 });
        await repo.withTenant(tenant, (s) => s.loadLedger.complete(key, 9));
        assert.deepEqual(await read((s) => s.loadLedger.find(key)), { completed: true, linesDone: 5, resources: 9 });
        assert.equal(await read((s) => s.loadLedger.find({ ...key, sha256: 'cd' })), undefined);
      });

      it('reindex jobs are queued, found and cancelled', async () => {
        await repo.withTenant(tenant, (s) => s.reindexJobs.create('job-1', ['Patient']));
        const job = await read<{ status: string; resourceTypes: string[]; processed: number; searchParams: unknown[] }>((s) => s.reindexJobs.find('job-1'));
        assert.deepEqual([job.status, job.resourceTypes, job.processed, job.searchParams], ['queued', ['Patient'], 0, []]);
        await repo.withTenant(tenant, (s) => s.reindexJobs.cancel('job-1'));
        assert.equal((await read<{ status: string }>((s) => s.reindexJobs.find('job-1'))).status, 'cancelled');
        assert.equal(await read((s) => s.reindexJobs.find('job-2')), undefined);
      });

      it("the SearchParameter generation moves when a SearchParameter is written; the state lists the live ones", async () => {
        const before = await read<string>((s) => s.searchParameters.generation());
        assert.equal(await read<string>((s) => s.searchParameters.generation()), before);
        await write(version('SearchParameter', 'sp-b', 1, 1), version('SearchParameter', 'sp-a', 1, 1), version('SearchParameter', 'sp-c', 1, 1));
        const after = await read<string>((s) => s.searchParameters.generation());
        assert.notEqual(after, before);
        await write(version('SearchParameter', 'sp-c', 2, 2, { deleted: true }));
        assert.notEqual(await read<string>((s) => s.searchParameters.generation()), after);
        const state = await read<{ parameters: { id: string; versionId: number }[]; coverage: unknown[] }>((s) => s.searchParameters.readState());
        assert.deepEqual(state.parameters.map((p) => `${p.id}/${p.versionId}`), ['sp-a/1', 'sp-b/1']);
        assert.deepEqual(state.coverage, []);
      });
    });
  });
}
