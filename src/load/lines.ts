// hearth load (docs/loading.md): NDJSON (FHIR Bulk Data, "ndjson" in the Bulk Data IG) read line
// by line from a byte stream, so a file of any size is never held whole. Lines end in LF or CRLF;
// each must be valid UTF-8 (a bad byte is an error naming the line, not a silent U+FFFD).
import { LoadError } from './errors.js';

export interface Line {
  /** 1-based. */
  number: number;
  text: string;
}

const LF = 0x0a;

/** The lines of `input` (chunks of bytes), with their numbers; the last may lack a newline. */
export async function* readLines(input: AsyncIterable<Buffer | Uint8Array>): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  // Bytes after the last newline seen, kept as pieces so a long line is joined once, not per chunk.
  let pending: Buffer[] = [];
  let number = 0;
  const decode = (bytes: Buffer): Line => {
    number++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--; // CRLF
    let text: string;
    try {
      text = decoder.decode(bytes.subarray(0, end));
    } catch {
      throw new LoadError('not valid UTF-8', { line: number });
    }
    // A UTF-8 byte order mark may open the file; it is not part of the first resource.
    return { number, text: number === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  };
  for await (const chunk of input) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = bytes.indexOf(LF); nl !== -1; nl = bytes.indexOf(LF, start)) {
      const line = bytes.subarray(start, nl);
      if (pending.length > 0) {
        pending.push(line);
        yield decode(Buffer.concat(pending));
        pending = [];
      } else {
        yield decode(line);
      }
      start = nl + 1;
    }
    if (start < bytes.length) pending.push(bytes.subarray(start));
  }
  if (pending.length > 0) yield decode(Buffer.concat(pending));
}
