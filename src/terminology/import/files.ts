// Finding an importer's files: the paths given may be the files themselves or the directory of a
// release (searched a few levels down, as releases nest their tables: LOINC's LoincTable/ and
// AccessoryFiles/, SNOMED's Snapshot/Terminology/, RxNorm's rrf/).
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** Every file under `paths` (directories walked up to `depth` levels). */
export async function filesUnder(paths: readonly string[], depth = 4): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string, left: number) => {
    const info = await stat(path);
    if (info.isFile()) {
      found.push(path);
      return;
    }
    if (!info.isDirectory() || left < 0) return;
    const entries = (await readdir(path)).sort();
    for (const entry of entries) if (!entry.startsWith('.')) await walk(join(path, entry), left - 1);
  };
  for (const path of paths) await walk(path, depth);
  return found;
}

/** The one file whose name matches, or undefined; throws when several match (ambiguous). */
export function pick(files: readonly string[], pattern: RegExp, what: string): string | undefined {
  const matches = files.filter((f) => pattern.test(basename(f)));
  if (matches.length > 1) throw new Error(`Several ${what} files found (${matches.map((f) => basename(f)).join(', ')}): name the one to import`);
  return matches[0];
}

export function required(file: string | undefined, what: string, paths: readonly string[]): string {
  if (!file) throw new Error(`No ${what} found in ${paths.join(', ')}`);
  return file;
}

export async function totalBytes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += (await stat(file)).size;
  return total;
}
