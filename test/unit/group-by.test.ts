// src/core/group-by.ts
import assert from 'node:assert/strict';
import { groupBy } from '../../src/core/group-by.js';

describe('groupBy', () => {
  it('groups in input order, groups in order of first appearance', () => {
    const groups = groupBy(['Patient/a', 'Observation/b', 'Patient/c'], (ref) => ref.split('/')[0]);
    assert.deepEqual([...groups], [['Patient', ['Patient/a', 'Patient/c']], ['Observation', ['Observation/b']]]);
    assert.equal(groupBy([], String).size, 0);
  });
});
