// What every importer produces (docs/terminology-import.md): a code system version's header and a
// stream of its concepts and is-a edges. The sink batches them into the storage writer
// (terminology-store.ts CodeSystemWriter), so an importer never holds a file's concepts for long.
import type { CodeSystemHeader, CodeSystemWriter, ConceptInput, ParentEdge } from '../../storage/terminology-store.js';
import type { ByteCounter } from './lines.js';

/** Concepts and edges handed to storage in batches of this many (the writer's statement size). */
export const SINK_BATCH = 5_000;

export interface ImportProgress extends ByteCounter {
  /** Bytes of the files this import reads. */
  bytesTotal: number;
  concepts: number;
  edges: number;
  /** The file being read. */
  file?: string;
}

export interface ConceptSink {
  concept(concept: ConceptInput): Promise<void>;
  edge(edge: ParentEdge): Promise<void>;
}

/** One code system version read from release files. */
export interface CodeSystemSource {
  /** The format's name ('loinc', 'snomed', ...). */
  format: string;
  /** The files read, for the progress estimate and messages. */
  files: readonly string[];
  /** Header (url, version, properties); may read the files' first lines (or a pre-pass) to learn the version. */
  header(): Promise<CodeSystemHeader>;
  /** Streams every concept and edge into `sink`; throws ImportError naming file:line on a bad line. */
  emit(sink: ConceptSink, progress: ImportProgress): Promise<void>;
}

/** Buffers concepts and edges and writes them a batch at a time. */
export class BatchingSink implements ConceptSink {
  private concepts: ConceptInput[] = [];
  private edges: ParentEdge[] = [];

  constructor(
    private readonly writer: CodeSystemWriter,
    private readonly progress: ImportProgress,
  ) {}

  async concept(concept: ConceptInput): Promise<void> {
    this.concepts.push(concept);
    if (this.concepts.length >= SINK_BATCH) await this.flushConcepts();
  }

  async edge(edge: ParentEdge): Promise<void> {
    this.edges.push(edge);
    if (this.edges.length >= SINK_BATCH) await this.flushEdges();
  }

  async flush(): Promise<void> {
    await this.flushConcepts();
    await this.flushEdges();
  }

  private async flushConcepts() {
    if (this.concepts.length === 0) return;
    const batch = this.concepts;
    this.concepts = [];
    await this.writer.addConcepts(batch);
    this.progress.concepts += batch.length;
  }

  private async flushEdges() {
    if (this.edges.length === 0) return;
    const batch = this.edges;
    this.edges = [];
    await this.writer.addParents(batch);
    this.progress.edges += batch.length;
  }
}
