// End-to-end property-based fuzz (issue 9 §5; FHIR R4 search.html, http.html): searches over
// every parameter type, modifier, prefix and common parameter, paging cursors, history, reads,
// batch and transaction bundles, valid-looking and hostile values mixed. For every request: no
// 5xx (nor a 5xx batch entry), every 4xx an OperationOutcome, the seeded data unchanged. A
// bounded number of cases here (FUZZ_RUNS, default 200); `npm run bench:fuzz` runs for minutes.
// A failure prints fast-check's seed and path: replay with FUZZ_SEED=<seed> FUZZ_PATH=<path>.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describeRequest, fingerprint, fuzzRegistry, fuzzRequest, seedTenant, sendFuzz, violation, wroteSomething } from '../support/fuzz.js';
import { useTestServer } from '../support/test-server.js';

describe('fuzz: no input answers 5xx or changes stored data (e2e, postgres)', function () {
  this.timeout(120_000);
  const hearth = useTestServer('postgres');

  it(`${process.env.FUZZ_RUNS ?? 200} random requests: < 500, every 4xx an OperationOutcome, seeded data unchanged`, async () => {
    const base = await hearth.server.newTenantBase();
    await seedTenant(base);
    const params = fuzzRegistry();
    let before = await fingerprint(base);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fuzzRequest(params), async (request) => {
        const reply = await sendFuzz(base, request);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        const problem = violation(reply);
        assert.equal(problem, undefined, `${problem}: ${describeRequest(request)} -> ${reply.text.slice(0, 500)}`);
        const after = await fingerprint(base);
        assert.equal(after.seeded, before.seeded, `seeded data changed by ${describeRequest(request)}`);
        if (!wroteSomething(request, reply)) assert.equal(after.newest, before.newest, `data changed by ${describeRequest(request)} -> ${reply.text.slice(0, 300)}`);
        before = after;
      }),
      {
        numRuns: Number(process.env.FUZZ_RUNS ?? 200),
        seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined,
        path: process.env.FUZZ_PATH,
        // Shrinking a failure is worth a little time, not the whole CI budget.
        interruptAfterTimeLimit: 90_000,
        markInterruptAsFailure: false,
      },
    );
    if (process.env.FUZZ_VERBOSE) console.log('statuses', [...statuses].sort());
    // The generators reach past validation: some requests succeed, some are refused.
    assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
  });
});
