// hearth load (docs/loading.md), step 1: which files to load. Expands the paths given (files,
// and directories recursively) into the loadable files in a stable order, and keys each one so a
// re-run recognises it: its path relative to the argument, its size and the sha256 of its bytes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { LoadError } from './errors.js';

export type SourceFormat = 'json' | 'ndjson';

export interface SourceFile {
  /** Absolute path. */
  path: string;
  /** Path relative to the argument it came from (a file argument: its base name), `/`-separated. */
  name: string;
  size: number;
  /** `json`: one Bundle or resource per file; `ndjson`: one resource per line (FHIR Bulk Data). */
  format: SourceFormat;
  gzip: boolean;
}

/** What the ledger records a file under: the same name, size and content is the same file. */
export interface SourceKey {
  name: string;
  size: number;
  sha256: string;
}

const LOADABLE = /\.(json|ndjson)(\.gz)?$/i;

/** The format a file name says, or undefined when it is not loadable. */
export function sourceFormat(fileName: string): Pick<SourceFile, 'format' | 'gzip'> | undefined {
  const m = LOADABLE.exec(fileName);
  if (!m) return undefined;
  return { format: m[1].toLowerCase() === 'ndjson' ? 'ndjson' : 'json', gzip: m[2] !== undefined };
}

/**
 * The loadable files under `paths`, in argument order; a directory's files sorted by relative
 * name (code-point order, so the order does not depend on the locale). A file named twice is
 * loaded once. Within directories, other files and dot-files are ignored; a file argument that
 * is not loadable, or a missing path, is an error.
 */
export async function expandSources(paths: readonly string[]): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  const seen = new Set<string>();
  for (const argument of paths) {
    const absolute = resolve(argument);
    const info = await stat(absolute).catch(() => undefined);
    if (!info) throw new LoadError(`${argument}: no such file or directory`);
    const found = info.isDirectory() ? await walk(absolute, '', new Set()) : [fileArgument(absolute, argument, info.size)];
    for (const file of found) {
      const real = await realpath(file.path);
      if (seen.has(real)) continue;
      seen.add(real);
      files.push(file);
    }
  }
  return files;
}

function fileArgument(path: string, argument: string, size: number): SourceFile {
  const format = sourceFormat(path);
  if (!format) throw new LoadError(`${argument}: not a .json, .json.gz, .ndjson or .ndjson.gz file`);
  return { path, name: basename(path), size, ...format };
}

/** Files under `dir`; `visited` holds real directory paths so a symlink loop ends. */
async function walk(dir: string, prefix: string, visited: Set<string>): Promise<SourceFile[]> {
  const real = await realpath(dir);
  if (visited.has(real)) return [];
  visited.add(real);
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort(compareCodePoints);
  const out: SourceFile[] = [];
  for (const entryName of names) {
    const path = join(dir, entryName);
    const name = prefix ? `${prefix}/${entryName}` : entryName;
    const info = await stat(path).catch(() => undefined); // a dangling symlink is not a file
    if (!info) continue;
    if (info.isDirectory()) out.push(...(await walk(path, name, visited)));
    else if (info.isFile()) {
      const format = sourceFormat(entryName);
      if (format) out.push({ path, name, size: info.size, ...format });
    }
  }
  return out;
}

const compareCodePoints = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** sha256 (hex) of the file's bytes as stored (compressed files are hashed compressed). */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function sourceKey(file: SourceFile): Promise<SourceKey> {
  return { name: file.name, size: file.size, sha256: await hashFile(file.path) };
}
