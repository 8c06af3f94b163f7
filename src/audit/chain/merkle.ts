// Merkle tree hash over an ordered list of 32-byte leaves, as RFC 6962 §2.1 defines it: a leaf
// is SHA-256(0x00 || data), an inner node SHA-256(0x01 || left || right), and a list of n > 1
// items splits at the largest power of two below n. The domain bytes keep a leaf from passing
// as an inner node. The empty list has no root here (a seal always covers at least one row).
import { createHash } from 'node:crypto';

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function leafHash(data: Buffer): Buffer {
  return createHash('sha256').update(LEAF).update(data).digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function subtree(leaves: readonly Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 1) return leaves[from];
  const k = largestPowerOfTwoBelow(n);
  return nodeHash(subtree(leaves, from, from + k), subtree(leaves, from + k, to));
}

/** The root over `data` (each item is hashed as a leaf first). */
export function merkleRoot(data: readonly Buffer[]): Buffer {
  if (data.length === 0) throw new Error('A Merkle root needs at least one leaf');
  return subtree(data.map(leafHash), 0, data.length);
}
