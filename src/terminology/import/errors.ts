// Errors of `hearth terminology import` (docs/terminology-import.md): a bad line of a release file
// names the file and line, so an operator can find it in a file of millions of lines.
import { basename } from 'node:path';

export class ImportError extends Error {
  override name = 'ImportError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    detail: string,
  ) {
    super(`${basename(file)}${line !== undefined ? `:${line}` : ''}: ${detail}`);
  }
}
