// The audit trail's pure integrity code (src/audit/chain): row hashes over the canonical
// serialization, RFC 6962 Merkle roots, chained seal hashes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { auditHasher } from '../../src/audit/chain/hasher.js';
import { leafHash, merkleRoot } from '../../src/audit/chain/merkle.js';
import { canonicalInstant, rowHash } from '../../src/audit/chain/row-hash.js';
import { GENESIS_SEAL_HASH, sealHash } from '../../src/audit/chain/seal-hash.js';

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const leaf = (n: number) => sha(Buffer.from([n]));

describe('audit chain: row hash', () => {
  const row = { tenantId: 't1', id: 'a', recorded: '2026-12-04T10:00:00.123000Z', content: '{"resourceType":"AuditEvent"}', patients: ['Patient/1'] };

  it('writes recorded with microseconds in UTC', () => {
    assert.equal(canonicalInstant(new Date('2026-12-04T11:00:00.123+01:00')), '2026-12-04T10:00:00.123000Z');
    assert.throws(() => canonicalInstant(new Date('nope')));
  });

  it('is SHA-256 of the canonical JSON array, and changes with every covered field', () => {
    const base = rowHash(row);
    assert.deepEqual(base, sha(Buffer.from(JSON.stringify(['hearth-audit-row-v1', 't1', 'a', row.recorded, row.content, ['Patient/1']]))));
    for (const changed of [
      { ...row, tenantId: 't2' },
      { ...row, id: 'b' },
      { ...row, recorded: '2026-12-04T10:00:00.123001Z' },
      { ...row, content: '{"resourceType":"AuditEvent" }' },
      { ...row, patients: ['Patient/2'] },
      { ...row, patients: [] },
    ]) {
      assert.notDeepEqual(rowHash(changed), base);
    }
  });

  it('cannot be fooled by moving text between fields', () => {
    assert.notDeepEqual(rowHash({ ...row, id: 'a', content: 'bc' }), rowHash({ ...row, id: 'ab', content: 'c' }));
  });
});

describe('audit chain: Merkle root (RFC 6962 §2.1)', () => {
  it('hashes a single leaf with the 0x00 prefix', () => {
    assert.deepEqual(merkleRoot([leaf(1)]), sha(Buffer.from([0]), leaf(1)));
    assert.deepEqual(leafHash(leaf(1)), sha(Buffer.from([0]), leaf(1)));
  });

  it('splits at the largest power of two below n and joins with the 0x01 prefix', () => {
    const [a, b, c] = [leaf(1), leaf(2), leaf(3)].map(leafHash);
    const node = (l: Buffer, r: Buffer) => sha(Buffer.from([1]), l, r);
    assert.deepEqual(merkleRoot([leaf(1), leaf(2)]), node(a, b));
    assert.deepEqual(merkleRoot([leaf(1), leaf(2), leaf(3)]), node(node(a, b), c));
    const d = leafHash(leaf(4));
    const e = leafHash(leaf(5));
    assert.deepEqual(merkleRoot([1, 2, 3, 4, 5].map(leaf)), node(node(node(a, b), node(c, d)), e));
  });

  it('depends on order, on every leaf and on the count', () => {
    const leaves = [1, 2, 3, 4, 5, 6, 7].map(leaf);
    const root = merkleRoot(leaves);
    assert.notDeepEqual(merkleRoot([leaves[1], leaves[0], ...leaves.slice(2)]), root);
    assert.notDeepEqual(merkleRoot(leaves.slice(0, 6)), root);
    assert.notDeepEqual(merkleRoot([...leaves.slice(0, 3), leaf(9), ...leaves.slice(4)]), root);
    // A leaf equal to an inner node's value does not stand in for the subtree.
    assert.notDeepEqual(merkleRoot([merkleRoot(leaves.slice(0, 2)), ...leaves.slice(2)]), root);
  });

  it('refuses the empty list', () => {
    assert.throws(() => merkleRoot([]));
  });
});

describe('audit chain: seal hash', () => {
  const seal = {
    tenantId: 't1',
    seq: 1,
    firstRecorded: '2026-12-04T10:00:00.000000Z',
    firstId: 'a',
    lastRecorded: '2026-12-04T10:05:00.000000Z',
    lastId: 'z',
    rowCount: 10,
    merkleRoot: leaf(1),
    prevSealHash: GENESIS_SEAL_HASH,
  };

  it('covers every field, the previous seal hash included', () => {
    const base = sealHash(seal);
    assert.equal(GENESIS_SEAL_HASH.length, 32);
    for (const changed of [
      { ...seal, tenantId: 't2' },
      { ...seal, seq: 2 },
      { ...seal, firstRecorded: '2026-12-04T10:00:00.000001Z' },
      { ...seal, firstId: 'b' },
      { ...seal, lastRecorded: '2026-12-04T10:05:00.000001Z' },
      { ...seal, lastId: 'y' },
      { ...seal, rowCount: 11 },
      { ...seal, merkleRoot: leaf(2) },
      { ...seal, prevSealHash: leaf(3) },
    ]) {
      assert.notDeepEqual(sealHash(changed), base);
    }
  });
});

describe('audit chain: the hasher handed to storage', () => {
  it('bundles the row hash, the Merkle root, the seal hash and the zero genesis link', () => {
    assert.equal(auditHasher.rowHash, rowHash);
    assert.equal(auditHasher.merkleRoot, merkleRoot);
    assert.equal(auditHasher.sealHash, sealHash);
    assert.deepEqual(auditHasher.genesisSealHash, Buffer.alloc(32));
  });
});
