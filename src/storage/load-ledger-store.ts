// hearth load's resumability ledger for one tenant (docs/loading.md, table load_ledger): per
// source file, whether its last transaction committed and, for NDJSON part-way through, how many
// lines of it are committed.

/** A source file: the same path, size and content is the same file. */
export interface LoadSourceKey {
  path: string;
  sizeBytes: number;
  sha256: string;
}

export interface LoadLedgerEntry {
  completed: boolean;
  /** NDJSON: lines of the file already committed (0 when none or not NDJSON). */
  linesDone: number;
  /** Resources committed from the file so far. */
  resources: number;
}

export interface LoadLedgerStore {
  find(key: LoadSourceKey): Promise<LoadLedgerEntry | undefined>;
  /** Part-way progress; never moves backwards (units may commit out of order). */
  progress(key: LoadSourceKey, linesDone: number, resources: number): Promise<void>;
  /** The file's last transaction committed. */
  complete(key: LoadSourceKey, resources: number): Promise<void>;
}
