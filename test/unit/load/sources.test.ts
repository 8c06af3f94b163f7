// Unit tests for src/load/sources.ts: which files a load takes, in what order, under what key.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import { expandSources, sourceFormat, sourceKey } from '../../../src/load/sources.js';
import { LoadError } from '../../../src/load/errors.js';
import { tempTree, type TempTree } from './fixtures.js';

describe('load sources', () => {
  let tree: TempTree;
  before(async () => {
    tree = await tempTree({
      'b.ndjson': '{"resourceType":"Patient"}\n',
      'a.json': '{"resourceType":"Patient"}',
      'sub/z.json.gz': '{"resourceType":"Patient"}',
      'sub/deeper/y.ndjson.gz': '{"resourceType":"Patient"}\n',
      'sub/readme.txt': 'not data',
      '.hidden/x.json': '{}',
      'C.JSON': '{"resourceType":"Patient"}',
    });
  });
  after(() => tree.remove());

  it('names formats by extension, gzip or not', () => {
    assert.deepEqual(sourceFormat('x.json'), { format: 'json', gzip: false });
    assert.deepEqual(sourceFormat('x.ndjson.gz'), { format: 'ndjson', gzip: true });
    assert.deepEqual(sourceFormat('X.NDJSON'), { format: 'ndjson', gzip: false });
    assert.equal(sourceFormat('x.xml'), undefined);
    assert.equal(sourceFormat('x.json.bak'), undefined);
  });

  it('expands a directory recursively, sorted by relative name, skipping dot-files and other files', async () => {
    const files = await expandSources([tree.dir]);
    assert.deepEqual(files.map((f) => f.name), ['C.JSON', 'a.json', 'b.ndjson', 'sub/deeper/y.ndjson.gz', 'sub/z.json.gz']);
    const z = files.find((f) => f.name === 'sub/z.json.gz')!;
    assert.equal(z.path, tree.path('sub/z.json.gz'));
    assert.equal(z.format, 'json');
    assert.equal(z.gzip, true);
    assert.equal(z.size, readFileSync(z.path).length);
  });

  it('names a file argument by its base name, keeps argument order, and takes a file once', async () => {
    const files = await expandSources([tree.path('b.ndjson'), tree.path('sub'), tree.path('b.ndjson')]);
    assert.deepEqual(files.map((f) => f.name), ['b.ndjson', 'deeper/y.ndjson.gz', 'z.json.gz']);
  });

  it('follows a symlinked directory, without looping back into one already walked', async () => {
    symlinkSync(tree.dir, tree.path('sub/loop')); // sub/loop/sub is sub again
    try {
      const files = await expandSources([tree.path('sub')]);
      assert.deepEqual(files.map((f) => f.name), ['deeper/y.ndjson.gz', 'loop/C.JSON', 'loop/a.json', 'loop/b.ndjson', 'z.json.gz']);
    } finally {
      rmSync(tree.path('sub/loop'));
    }
  });

  it('refuses a missing path and a file argument of another kind', async () => {
    await assert.rejects(expandSources([tree.path('nope')]), (e: Error) => e instanceof LoadError && /nope: no such file or directory/.test(e.message));
    await assert.rejects(expandSources([tree.path('sub/readme.txt')]), /not a \.json, \.json\.gz, \.ndjson or \.ndjson\.gz file/);
  });

  it('keys a file by name, size and the sha256 of its stored bytes', async () => {
    const [file] = await expandSources([tree.path('sub/z.json.gz')]);
    const bytes = readFileSync(file.path);
    assert.deepEqual(await sourceKey(file), {
      name: 'z.json.gz',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  });
});
