// Walking an audit trail's rows, in (recorded, id) order, against its seals
// (docs/adr/0013-audit-trail-storage.md "Verify"): each row's hash must recompute, each row inside
// the sealed ranges must fall in a seal, each seal's rows must be as many as sealed with the same
// Merkle root (RFC 6962 §2.1). Shared by the verification of the table and of archive files.
import type { AuditHasher } from '../audit-store.js';
import { compareKeys, recordedText } from './audit-sql.js';

export interface SealRow {
  seq: string | number;
  first_recorded: string;
  first_id: string;
  last_recorded: string;
  last_id: string;
  row_count: number;
  merkle_root: Buffer;
  prev_seal_hash: Buffer;
  seal_hash: Buffer;
}

/** The seals of a tenant in seq order, with instants in canonical text. */
export const SEALS =
  `SELECT seq, ${recordedText('first_recorded')} AS first_recorded, first_id, ${recordedText('last_recorded')} AS last_recorded, last_id, ` +
  'row_count, merkle_root, prev_seal_hash, seal_hash FROM audit_seal WHERE tenant_id = $1 ORDER BY seq';

export interface WalkedRow {
  id: string;
  /** Canonical instant. */
  recorded: string;
  content: string;
  patients: string[];
  hash: Buffer;
}

/** Where and why the trail is broken. */
export class Broken extends Error {
  constructor(readonly detail: { sealSeq?: number; recordId?: string; reason: string }) {
    super(detail.reason);
  }
}

export class SealWalker {
  private current = 0;
  private leaves: Buffer[] = [];
  sealed = 0;
  pending = 0;

  constructor(
    private readonly hasher: AuditHasher,
    private readonly tenantId: string,
    private readonly seals: readonly SealRow[],
  ) {}

  private close(): void {
    const seal = this.seals[this.current];
    const seq = Number(seal.seq);
    if (this.leaves.length !== seal.row_count) {
      throw new Broken({ sealSeq: seq, reason: `seal ${seq} covers ${seal.row_count} rows but ${this.leaves.length} are in its range (rows deleted or inserted)` });
    }
    if (!this.hasher.merkleRoot(this.leaves).equals(seal.merkle_root)) {
      throw new Broken({ sealSeq: seq, reason: `seal ${seq}: the Merkle root of its rows differs (rows altered or reordered)` });
    }
    this.sealed += this.leaves.length;
    this.leaves = [];
    this.current += 1;
  }

  /** The next row; rows must come in (recorded, id) order. */
  add(row: WalkedRow): void {
    const hash = this.hasher.rowHash({ tenantId: this.tenantId, id: row.id, recorded: row.recorded, content: row.content, patients: row.patients });
    if (!hash.equals(row.hash)) throw new Broken({ recordId: row.id, reason: `row ${row.id} was altered: its hash does not recompute` });
    const at = { recorded: row.recorded, id: row.id };
    const seals = this.seals;
    while (this.current < seals.length && compareKeys(at, { recorded: seals[this.current].last_recorded, id: seals[this.current].last_id }) > 0) this.close();
    if (this.current >= seals.length) {
      this.pending += 1;
    } else if (compareKeys(at, { recorded: seals[this.current].first_recorded, id: seals[this.current].first_id }) >= 0) {
      this.leaves.push(hash);
    } else {
      throw new Broken({ recordId: row.id, reason: `row ${row.id} lies inside the sealed range but belongs to no seal (inserted after sealing)` });
    }
  }

  /** After the last row: the remaining seals must have had all their rows. */
  finish(): void {
    while (this.current < this.seals.length) this.close();
  }
}
