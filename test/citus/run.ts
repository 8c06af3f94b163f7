// npm run test:citus — the distributed mode's tier (issue 15; docs/scaling.md "Citus"). Not part
// of `npm test`: CI cannot install Citus. It needs CITUS_DATABASE_URL, a database on a Citus
// coordinator with workers added and the `citus` extension created on every node; the suites
// below then run against it as their TEST_DATABASE_URL (the migrations distribute the schema).
import { spawnSync } from 'node:child_process';

/** This tier's own checks, then the end-to-end and integration suites run as they are. */
export const CITUS_SUITES: readonly string[] = [
  'test/citus/**/*.test.ts',
  // Foundation: REST interactions, history, conditional writes, bad input, tenancy.
  'test/e2e/crud.test.ts',
  'test/e2e/history.test.ts',
  'test/e2e/conditional.test.ts',
  'test/e2e/patch.test.ts',
  'test/e2e/bad-input.test.ts',
  'test/e2e/concurrency.test.ts',
  'test/integration/tenancy.test.ts',
  'test/integration/rls-rules.test.ts',
  'test/integration/tenant-session.test.ts',
  'test/integration/write-versions.test.ts',
  // Search.
  'test/e2e/search*.test.ts',
  'test/e2e/custom-search-params.test.ts',
  // Transactions and batches, and the loader.
  'test/e2e/transaction.test.ts',
  'test/e2e/load.test.ts',
  'test/integration/load-ledger.test.ts',
  // Terminology: tenant code systems, expansions, operations, binding checks.
  'test/e2e/code-system-operations.test.ts',
  'test/e2e/value-set-operations.test.ts',
  'test/e2e/concept-map-translate.test.ts',
  'test/integration/terminology-*.test.ts',
  'test/integration/binding-checks.test.ts',
  // Outbound sync and Subscriptions: the outbox, the delivery claim, breakers.
  'test/e2e/sync-delivery.test.ts',
  'test/e2e/subscriptions.test.ts',
  'test/integration/sync-admin-store.test.ts',
  'test/integration/outbox-notify.test.ts',
  // SMART users and sessions, and the audit trail as recorded, searched and exported.
  'test/integration/auth-users.test.ts',
  'test/e2e/smart-authorize.test.ts',
  'test/e2e/audit-recording.test.ts',
  'test/e2e/audit-search.test.ts',
  'test/integration/audit-search-storage.test.ts',
  'test/integration/audit-export.test.ts',
];
// Left out, as single-node only by design: the one-round-trip reads and round-trip counts
// (ADR 0021 is off on Citus), tests that tamper with the trail as the owner with triggers off
// (session_replication_role is not passed to the workers), GIN pending-list maintenance of the
// coordinator's own tables, and suites that make scratch databases (they are plain PostgreSQL).

const url = process.env.CITUS_DATABASE_URL;
if (!url) {
  console.error('npm run test:citus needs CITUS_DATABASE_URL: a database on a Citus coordinator (docs/scaling.md, "Citus").');
  process.exit(2);
}
const result = spawnSync('npx', ['mocha', ...CITUS_SUITES, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TEST_DATABASE_URL: url, HEARTH_REQUIRE_SERVICES: '1' },
});
process.exit(result.status ?? 1);
