// docs/configuration.md must list every setting the code reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SETTINGS } from '../../src/core/config.js';

describe('docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  for (const setting of SETTINGS) {
    it(`documents ${setting.env}`, () => {
      assert.ok(doc.includes(`\`${setting.env}\``), `${setting.env} is missing from docs/configuration.md`);
      if (setting.fallback) assert.ok(doc.includes(`\`${setting.fallback}\``), `${setting.fallback} is missing from docs/configuration.md`);
    });
  }
});
