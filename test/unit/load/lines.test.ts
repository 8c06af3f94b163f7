// Unit tests for src/load/lines.ts: NDJSON lines from a byte stream, however the bytes arrive.
import assert from 'node:assert/strict';
import { readLines, type Line } from '../../../src/load/lines.js';
import { LoadError } from '../../../src/load/errors.js';

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.isBuffer(p) ? p : Buffer.from(p);
}

async function collect(source: AsyncIterable<Buffer>): Promise<Line[]> {
  const out: Line[] = [];
  for await (const line of readLines(source)) out.push(line);
  return out;
}

describe('load lines', () => {
  it('splits on LF and CRLF, numbering from 1, with or without a final newline', async () => {
    assert.deepEqual(await collect(chunks('a\r\nb\n\nc')), [
      { number: 1, text: 'a' }, { number: 2, text: 'b' }, { number: 3, text: '' }, { number: 4, text: 'c' },
    ]);
    assert.deepEqual(await collect(chunks('a\n')), [{ number: 1, text: 'a' }]);
    assert.deepEqual(await collect(chunks()), []);
  });

  it('joins lines and multi-byte characters split across chunks', async () => {
    const bytes = Buffer.from('{"a":"é€"}\n{"b":"😀"}\n');
    const oneByOne = Array.from(bytes, (b) => Buffer.from([b]));
    assert.deepEqual((await collect(chunks(...oneByOne))).map((l) => l.text), ['{"a":"é€"}', '{"b":"😀"}']);
  });

  it('drops a byte order mark before the first line only', async () => {
    assert.deepEqual((await collect(chunks('\uFEFFa\n\uFEFFb'))).map((l) => l.text), ['a', '\uFEFFb']);
  });

  it('names the line that is not valid UTF-8', async () => {
    await assert.rejects(collect(chunks('ok\n', Buffer.from([0x7b, 0xff, 0x7d, 0x0a]))), (e: LoadError) => e.place.line === 2 && e.reason === 'not valid UTF-8');
  });

  it('reads a long line from many chunks', async () => {
    const long = 'x'.repeat(200_000);
    const parts = [];
    for (let i = 0; i < long.length; i += 1000) parts.push(long.slice(i, i + 1000));
    assert.deepEqual((await collect(chunks(...parts, '\nend'))).map((l) => l.text.length), [200_000, 3]);
  });
});
