// Temporary source trees for the loader's unit tests.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface TempTree {
  dir: string;
  path(name: string): string;
  remove(): Promise<void>;
}

/** Writes `files` (relative name -> content; names ending .gz are gzipped) under a new temp dir. */
export async function tempTree(files: Record<string, string | Buffer>): Promise<TempTree> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-load-'));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, name.endsWith('.gz') ? gzipSync(content) : content);
  }
  return { dir, path: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

export const ndjson = (...resources: object[]) => resources.map((r) => JSON.stringify(r)).join('\n') + '\n';
