// The files of a gzipped tar archive (POSIX ustar, IEEE 1003.1-2001 "pax" path records, and GNU
// long names), streamed: an NPM FHIR package (.tgz) is read one entry at a time, never unpacked
// to disk nor held whole.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

export interface TarEntry {
  path: string;
  data: Buffer;
}

const BLOCK = 512;

const text = (block: Buffer, start: number, length: number) => {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
};

/** pax extended header records: "<length> <key>=<value>\n". */
function paxPath(data: Buffer): string | undefined {
  let path: string | undefined;
  for (const record of data.toString('utf8').split('\n')) {
    const match = /^\d+ path=(.*)$/.exec(record);
    if (match) path = match[1];
  }
  return path;
}

/** Regular files of the archive at `file`, in archive order, for which `want(path)` holds. */
export async function* tarGzEntries(file: string, want: (path: string) => boolean = () => true): AsyncGenerator<TarEntry> {
  let buffered: Buffer[] = [];
  let size = 0;
  const take = (n: number): Buffer => {
    const all = buffered.length === 1 ? buffered[0] : Buffer.concat(buffered);
    buffered = all.length > n ? [all.subarray(n)] : [];
    size -= n;
    return all.subarray(0, n);
  };
  let header: { path: string; type: string; size: number } | undefined;
  let nextPath: string | undefined;
  for await (const chunk of createReadStream(file).pipe(createGunzip())) {
    buffered.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    for (;;) {
      if (!header) {
        if (size < BLOCK) break;
        const block = take(BLOCK);
        if (block.every((b) => b === 0)) continue; // end-of-archive blocks
        const magic = text(block, 257, 6);
        const prefix = magic.startsWith('ustar') ? text(block, 345, 155) : '';
        const name = text(block, 0, 100);
        const length = parseInt(text(block, 124, 12).trim() || '0', 8);
        if (Number.isNaN(length)) throw new Error(`${file}: not a tar archive (bad entry size)`);
        header = { path: nextPath ?? (prefix ? `${prefix}/${name}` : name), type: String.fromCharCode(block[156] || 0x30), size: length };
        nextPath = undefined;
      }
      const padded = Math.ceil(header.size / BLOCK) * BLOCK;
      if (size < padded) break;
      const data = take(padded).subarray(0, header.size);
      const entry = header;
      header = undefined;
      if (entry.type === 'x') nextPath = paxPath(data);
      else if (entry.type === 'L') nextPath = text(data, 0, data.length);
      else if ((entry.type === '0' || entry.type === '\0') && want(entry.path)) yield { path: entry.path, data: Buffer.from(data) };
    }
  }
}
