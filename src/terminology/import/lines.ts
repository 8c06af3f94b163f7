// Release files read line by line (node:readline over a read stream): a file of any size is never
// held whole. Lines end in LF or CRLF; a UTF-8 byte order mark opening the file is dropped. The
// bytes read so far feed the progress display.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Line {
  /** 1-based. */
  number: number;
  text: string;
}

/** Counts bytes read across the files of one import (for a progress estimate). */
export interface ByteCounter {
  bytesDone: number;
}

export async function* readLines(path: string, counter?: ByteCounter): AsyncGenerator<Line> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let number = 0;
  let counted = 0;
  try {
    for await (const raw of lines) {
      number++;
      if (counter && stream.bytesRead !== counted) {
        counter.bytesDone += stream.bytesRead - counted;
        counted = stream.bytesRead;
      }
      yield { number, text: number === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw };
    }
  } finally {
    lines.close();
    stream.destroy();
  }
  if (counter) counter.bytesDone += stream.bytesRead - counted;
}

