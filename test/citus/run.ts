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
  // Transactions and batches.
  'test/e2e/transaction.test.ts',
];

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
