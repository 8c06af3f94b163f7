// The terminology release fixtures (test/fixtures/terminology/<format>/, tiny files in the real
// formats) and helpers: a sink that records what an importer emits, a copy of a fixture with one
// line broken, and the NPM package fixture packed as a .tgz at run time.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeSystemSource } from '../../src/terminology/import/source.js';
import { newProgress } from '../../src/terminology/import/run-import.js';
import type { ConceptInput, ParentEdge } from '../../src/storage/terminology-store.js';

export const TERMINOLOGY_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/terminology');
export const fixture = (...parts: string[]) => join(TERMINOLOGY_FIXTURES, ...parts);

export interface Emitted {
  concepts: Map<string, ConceptInput>;
  edges: ParentEdge[];
}

/** Runs an importer into memory. */
export async function emitted(source: CodeSystemSource): Promise<Emitted> {
  const out: Emitted = { concepts: new Map(), edges: [] };
  await source.emit(
    {
      concept: async (c) => void out.concepts.set(c.code, c),
      edge: async (e) => void out.edges.push(e),
    },
    newProgress(),
  );
  return out;
}

/** A copy of the fixture directory `format` with line `line` (1-based) of `file` replaced. */
export async function brokenCopy(format: string, file: string, line: number, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `hearth-term-${format}-`));
  await cp(fixture(format), dir, { recursive: true });
  const path = join(dir, relative(fixture(format), fixture(format, file)));
  const lines = (await readFile(path, 'utf8')).split('\n');
  lines[line - 1] = text;
  await writeFile(path, lines.join('\n'));
  return dir;
}

/** The fixture NPM package (fhir/package-src) packed as <tmp>/package.tgz with the system tar. */
export async function packedFhirPackage(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-term-pkg-'));
  const tgz = join(dir, 'example.fhir.terminology-0.1.0.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', fixture('fhir', 'package-src'), 'package']);
  return tgz;
}
