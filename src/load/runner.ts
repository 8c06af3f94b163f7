// hearth load (docs/loading.md), step 3: runs a load. Files are read in order, one at a time, into
// units (Bundles); up to `concurrency` units are posted at once through the service layer
// (FHIR R4 http.html#transaction), so a single big NDJSON file is loaded in parallel too. A file
// goes into the ledger only after its last unit committed; one already there is skipped; an
// NDJSON file part-way through resumes after its committed prefix. By default the first failure
// stops the run (units in flight finish); with `continueOnError` the failed file is abandoned and
// the others are loaded. Transport-neutral: the CLI and a future Bulk Data $import share it.
import { randomUUID } from 'node:crypto';
import type { OperationOutcome } from 'fhir/r4.js';
import { FhirError } from '../core/errors.js';
import { ANONYMOUS_ACCESS, type FhirRequest, type FhirResponse, type JsonObject } from '../core/types.js';
import { entryIndexOf, LoadError, outcomeText, reasonOf, type FailurePlace } from './errors.js';
import type { LedgerEntry, LoadLedger } from './ledger.js';
import type { LoadProgress } from './progress.js';
import { sourceKey, type SourceFile, type SourceKey } from './sources.js';
import { readUnits, type LoadUnit } from './units.js';
import { bodyValue } from '../core/response-body.js';

/** FhirService.handle, or anything that answers a FhirRequest the same way. */
export type HandleRequest = (req: FhirRequest) => Promise<FhirResponse>;

export interface LoadOptions {
  tenantId: string;
  /** The tenant's FHIR base URL; entry urls are relative to it. */
  baseUrl: string;
  handle: HandleRequest;
  ledger: LoadLedger;
  /** Units posted at once (default 4). */
  concurrency?: number;
  /** NDJSON lines per transaction (default 500). */
  chunkSize?: number;
  continueOnError?: boolean;
  /** JSON nesting limit, as for REST bodies (default 64). */
  maxDepth?: number;
  onProgress?: (progress: LoadProgress) => void;
  onFile?: (result: FileResult) => void;
}

export interface FileResult {
  name: string;
  /** `interrupted`: stopped part-way by another file's failure; a re-run resumes or reloads it. */
  status: 'loaded' | 'skipped' | 'failed' | 'interrupted';
  /** Resources committed from the file by this run. */
  resources: number;
  /** Set when an NDJSON file resumed after this line (an earlier run loaded the lines before). */
  resumedAfterLine?: number;
  error?: LoadError;
}

export interface LoadSummary extends LoadProgress {
  /** The files reached, in source order. */
  files: FileResult[];
  /** Files not reached, or interrupted, because the run stopped at a failure. */
  filesNotAttempted: number;
  failures: LoadError[];
}

export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_CHUNK_SIZE = 500;

export async function runLoad(files: readonly SourceFile[], options: LoadOptions): Promise<LoadSummary> {
  return new LoadRun(files, options).run();
}

/** One file's units: how many went out, which committed, how far the committed prefix reaches. */
class FileState {
  issued = 0;
  done = 0;
  produced = false;
  /** The run stopped before all of the file's units went out. */
  abandoned = false;
  finished = false;
  failed?: LoadError;
  resources = 0;
  bytesCounted = 0;
  /** Committed units past the prefix, by index. */
  private readonly ahead = new Map<number, { endLine: number; entries: number }>();
  private nextIndex = 0;
  linesDone: number;
  prefixResources: number;
  /** The line an earlier run got to (NDJSON), 0 when starting afresh. */
  readonly resumedAfter: number;

  constructor(
    readonly order: number,
    readonly file: SourceFile,
    readonly key: SourceKey,
    previous: LedgerEntry | undefined,
  ) {
    this.linesDone = this.resumedAfter = previous?.linesDone ?? 0;
    this.prefixResources = previous?.resources ?? 0;
  }

  /** Records a committed unit; true when the committed prefix moved on. */
  committed(unit: LoadUnit): boolean {
    this.ahead.set(unit.index, { endLine: unit.endLine ?? 0, entries: unit.entries });
    let moved = false;
    for (let next = this.ahead.get(this.nextIndex); next; next = this.ahead.get(this.nextIndex)) {
      this.ahead.delete(this.nextIndex++);
      this.linesDone = next.endLine;
      this.prefixResources += next.entries;
      moved = true;
    }
    return moved;
  }

  get drained(): boolean {
    return this.produced && this.done === this.issued;
  }
}

class LoadRun {
  private readonly runId = randomUUID().slice(0, 8);
  private readonly started = performance.now();
  private readonly results: { order: number; result: FileResult }[] = [];
  private readonly failures: LoadError[] = [];
  private stopping = false;
  private readonly progress: Omit<LoadProgress, 'elapsedMs'>;

  constructor(
    private readonly files: readonly SourceFile[],
    private readonly options: LoadOptions,
  ) {
    this.progress = {
      filesTotal: files.length, filesLoaded: 0, filesSkipped: 0, filesFailed: 0, resources: 0,
      bytesTotal: files.reduce((sum, f) => sum + f.size, 0), bytesDone: 0,
    };
  }

  async run(): Promise<LoadSummary> {
    const units = this.produce();
    const worker = async () => {
      for (let next = await units.next(); !next.done; next = await units.next()) await this.runUnit(...next.value);
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency ?? DEFAULT_CONCURRENCY) }, worker));
    const snapshot = this.snapshot();
    this.options.onProgress?.(snapshot);
    return {
      ...snapshot,
      files: this.results.sort((a, b) => a.order - b.order).map((r) => r.result),
      filesNotAttempted: this.files.length - this.results.filter((r) => r.result.status !== 'interrupted').length,
      failures: this.failures,
    };
  }

  /** Units of every file in order; shared by the workers, so files are read one at a time. */
  private async *produce(): AsyncGenerator<[FileState, LoadUnit]> {
    for (const [order, file] of this.files.entries()) {
      if (this.stopping) return;
      let state: FileState;
      try {
        const key = await sourceKey(file);
        const previous = await this.options.ledger.find(this.options.tenantId, key);
        if (previous?.completed) {
          this.skip(order, file);
          continue;
        }
        state = new FileState(order, file, key, previous);
      } catch (error) {
        const failure = this.placed(error, { file: file.name });
        this.finishFailed(order, { name: file.name, status: 'failed', resources: 0, error: failure }, file.size);
        continue;
      }
      yield* this.unitsOf(state);
      state.produced = true;
      await this.settle(state);
    }
  }

  private async *unitsOf(state: FileState): AsyncGenerator<[FileState, LoadUnit]> {
    const { chunkSize = DEFAULT_CHUNK_SIZE, maxDepth = 64 } = this.options;
    try {
      for await (const unit of readUnits(state.file, { chunkSize, maxDepth, skipLines: state.linesDone })) {
        if (this.stopping || state.failed) {
          state.abandoned = true;
          return; // leaving the loop closes the file
        }
        state.issued++;
        yield [state, unit];
      }
    } catch (error) {
      this.fail(state, this.placed(error, { file: state.file.name }));
    }
  }

  private async runUnit(state: FileState, unit: LoadUnit): Promise<void> {
    try {
      const response = await this.options.handle(this.request(state, unit));
      this.count(state, unit, checkResponse(unit, response));
      const moved = state.committed(unit);
      // A part-way NDJSON file records its prefix; a file about to complete is recorded whole.
      const completing = state.drained && !state.failed && !state.abandoned;
      if (moved && unit.endLine !== undefined && !completing) {
        await this.options.ledger.progress(this.options.tenantId, state.key, state.linesDone, state.prefixResources);
      }
    } catch (error) {
      if (error instanceof PartialBatch) this.count(state, unit, error.ok);
      const failure = error instanceof PartialBatch ? this.unitError(state, unit, error.error, error.index) : this.unitError(state, unit, error);
      this.fail(state, failure);
    } finally {
      state.done++;
      await this.settle(state);
    }
  }

  private request(state: FileState, unit: LoadUnit): FhirRequest {
    const { tenantId, baseUrl } = this.options;
    return {
      method: 'POST', tenantId, baseUrl, path: [], query: new URLSearchParams(), prefer: { return: 'minimal' },
      body: unit.bundle, bodyKind: 'resource', bodyNumbers: unit.numbers, access: ANONYMOUS_ACCESS,
      requestId: `load-${this.runId}-${state.order}.${unit.index}`,
    };
  }

  private count(state: FileState, unit: LoadUnit, resources: number): void {
    state.resources += resources;
    state.bytesCounted += unit.bytes;
    this.progress.resources += resources;
    this.progress.bytesDone += unit.bytes;
    this.options.onProgress?.(this.snapshot());
  }

  private fail(state: FileState, error: LoadError): void {
    state.failed ??= error;
    if (!this.options.continueOnError) this.stopping = true;
  }

  /** Once a file has no more units coming or in flight: ledger, result, progress. */
  private async settle(state: FileState): Promise<void> {
    if (state.finished || !state.drained) return;
    state.finished = true;
    if (!state.failed && !state.abandoned) {
      try {
        await this.options.ledger.complete(this.options.tenantId, state.key, state.prefixResources);
      } catch (error) {
        this.fail(state, this.placed(error, { file: state.file.name }));
      }
    }
    const status = state.failed ? 'failed' : state.abandoned ? 'interrupted' : 'loaded';
    const result: FileResult = { name: state.file.name, status, resources: state.resources };
    if (state.resumedAfter > 0) result.resumedAfterLine = state.resumedAfter;
    if (state.failed) {
      this.finishFailed(state.order, { ...result, error: state.failed }, state.file.size - state.bytesCounted);
      return;
    }
    if (state.abandoned) {
      this.progress.bytesTotal -= state.file.size - state.bytesCounted;
      this.record(state.order, result);
      return;
    }
    this.progress.bytesDone += state.file.size - state.bytesCounted; // read-ahead and blank lines
    this.progress.filesLoaded++;
    this.record(state.order, result);
  }

  private skip(order: number, file: SourceFile): void {
    this.progress.filesSkipped++;
    this.progress.bytesTotal -= file.size;
    this.record(order, { name: file.name, status: 'skipped', resources: 0 });
  }

  /** `bytesLeft`: what was not loaded and now will not be. */
  private finishFailed(order: number, result: FileResult & { error: LoadError }, bytesLeft: number): void {
    if (!this.options.continueOnError) this.stopping = true;
    this.progress.filesFailed++;
    this.progress.bytesTotal -= bytesLeft;
    this.failures.push(result.error);
    this.record(order, result);
  }

  private record(order: number, result: FileResult): void {
    this.results.push({ order, result });
    this.options.onFile?.(result);
    this.options.onProgress?.(this.snapshot());
  }

  private snapshot(): LoadProgress {
    return { ...this.progress, elapsedMs: performance.now() - this.started };
  }

  private placed(error: unknown, place: FailurePlace): LoadError {
    if (error instanceof LoadError) return new LoadError(error.reason, { ...error.place, ...place });
    return new LoadError(reasonOf(error), place);
  }

  /** A unit's failure, placed at the file's entry (JSON) or line (NDJSON). */
  private unitError(state: FileState, unit: LoadUnit, error: unknown, batchEntry?: number): LoadError {
    const index = batchEntry ?? entryIndexOf(error);
    const place: FailurePlace = { file: state.file.name };
    if (index !== undefined) {
      place.resourceType = entryType(unit.bundle, index);
      if (unit.lines) place.line = unit.lines[index];
      else place.entry = index;
    }
    const naming = {
      typeOf: (i: number) => entryType(unit.bundle, i),
      label: (i: number) => (unit.lines ? `line ${unit.lines[i] ?? '?'}` : `entry ${i}`),
    };
    return new LoadError(error instanceof FhirError ? outcomeText(error, index, naming) : reasonOf(error), place);
  }
}

function entryType(bundle: JsonObject, index: number): string | undefined {
  const entry = (bundle.entry as JsonObject[] | undefined)?.[index];
  const type = (entry?.resource as JsonObject | undefined)?.resourceType;
  return typeof type === 'string' ? type : undefined;
}

/** A batch whose entries did not all succeed: `ok` of them committed; `index` is the first failure. */
class PartialBatch extends Error {
  constructor(
    readonly ok: number,
    readonly index: number,
    readonly error: FhirError,
  ) {
    super(error.message);
  }
}

const statusOf = (entry: JsonObject) => String((entry.response as JsonObject | undefined)?.status ?? '');

/**
 * How many entries the response says were stored. A transaction either commits whole or throws; a
 * batch answers 200 with a status per entry, and the first failed entry fails the file.
 */
function checkResponse(unit: LoadUnit, response: FhirResponse): number {
  if (response.status >= 300) throw new LoadError(`unexpected status ${response.status} for the ${unit.kind}`);
  if (unit.kind === 'transaction') return unit.entries;
  const body = response.body;
  const value = (body ? bodyValue(body) : undefined) as JsonObject | undefined;
  const entries = (value?.entry ?? []) as JsonObject[];
  const failed = entries.findIndex((e) => !/^2/.test(statusOf(e)));
  if (failed === -1) return unit.entries;
  const outcome = (entries[failed].response as JsonObject).outcome as OperationOutcome | undefined;
  const issues = (outcome?.issue ?? []).map((i) => ({ ...i, diagnostics: i.diagnostics ?? i.code }));
  const status = Number.parseInt(statusOf(entries[failed]), 10) || 500;
  const error = new FhirError(status, issues.length > 0 ? issues : { code: 'processing', diagnostics: statusOf(entries[failed]) || 'failed' });
  throw new PartialBatch(entries.filter((e) => /^2/.test(statusOf(e))).length, failed, error);
}
