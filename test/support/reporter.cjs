// Mocha's spec reporter plus one closing line in the plain form CI reads:
// "tests: N passed, N failed" (", N skipped" when any were pending).
'use strict';
const Mocha = require('mocha');

class HearthReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const s = runner.stats;
      const skipped = s.pending ? `, ${s.pending} skipped` : '';
      process.stdout.write(`\ntests: ${s.passes} passed, ${s.failures} failed${skipped}\n`);
    });
  }
}

module.exports = HearthReporter;
