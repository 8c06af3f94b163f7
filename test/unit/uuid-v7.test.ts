// src/core/uuid-v7.ts: RFC 9562 version 7 UUIDs, ordered by their millisecond.
import assert from 'node:assert/strict';
import { uuidV7 } from '../../src/core/uuid-v7.js';
import { isValidId } from '../../src/core/ids.js';

describe('uuidV7', () => {
  it('is a version 7, variant 10 UUID whose first 48 bits are the time in milliseconds', () => {
    const at = Date.UTC(2026, 11, 4, 22, 0, 0, 123);
    const id = uuidV7(at);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at);
    assert.ok(isValidId(id));
  });

  it('sorts by time across milliseconds, and differs within one', () => {
    const ids = [1, 2, 3, 1000, 1_000_000].map((ms) => uuidV7(Date.UTC(2026, 0, 1) + ms));
    assert.deepEqual([...ids].sort(), ids);
    const same = new Set(Array.from({ length: 1000 }, () => uuidV7(0)));
    assert.equal(same.size, 1000);
  });
});
