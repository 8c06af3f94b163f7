// Unit tests for src/load/units.ts: a file as units (Bundles) to post, NDJSON in chunks.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { LoadError } from '../../../src/load/errors.js';
import { expandSources, type SourceFile } from '../../../src/load/sources.js';
import { readUnits, type LoadUnit, type ReadOptions } from '../../../src/load/units.js';
import { ndjson, tempTree, type TempTree } from './fixtures.js';

const patient = (id: string) => ({ resourceType: 'Patient', id });

async function units(file: SourceFile, options: Partial<ReadOptions> = {}): Promise<LoadUnit[]> {
  const out: LoadUnit[] = [];
  for await (const unit of readUnits(file, { chunkSize: 2, skipLines: 0, maxDepth: 64, ...options })) out.push(unit);
  return out;
}

describe('load units', () => {
  let tree: TempTree;
  let files: Map<string, SourceFile>;
  before(async () => {
    tree = await tempTree({
      'five.ndjson': `${ndjson(patient('a'), patient('b'))}\n${ndjson(patient('c'))}{"resourceType":"Observation","valueQuantity":{"value":1.50}}\n${ndjson(patient('e'))}\n\n`,
      'five.ndjson.gz': ndjson(patient('a'), patient('b'), patient('c'), patient('d'), patient('e')),
      'bundle.json.gz': JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: patient('x') }] }),
      'empty.json': JSON.stringify({ resourceType: 'Bundle', type: 'transaction' }),
      'bad-line.ndjson': `${ndjson(patient('a'))}{"resourceType":"Patient",}\n`,
      'bad-type.ndjson': ndjson(patient('a'), { id: 'b' }),
      'proto.ndjson': '{"resourceType":"Patient","__proto__":{"x":1}}\n',
      'bad.json': '{"resourceType": "Bundle",\n  "type": tru }',
    });
    writeFileSync(tree.path('not-gzip.json.gz'), 'plain'); // the fixture would gzip it
    files = new Map((await expandSources([tree.dir])).map((f) => [f.name, f]));
  });
  after(() => tree.remove());

  it('cuts NDJSON into transactions of chunkSize resources, recording lines, skipping blank ones', async () => {
    const out = await units(files.get('five.ndjson')!);
    assert.deepEqual(out.map((u) => u.lines), [[1, 2], [4, 5], [6]]);
    assert.deepEqual(out.map((u) => u.endLine), [2, 5, 8]);
    assert.deepEqual(out.map((u) => u.index), [0, 1, 2]);
    assert.ok(out.every((u) => u.kind === 'transaction' && u.bundle.type === 'transaction'));
    // 1.50 keeps its lexeme, at the entry's position in the chunk.
    assert.deepEqual(out[1].numbers, new Map([['/entry/1/resource/valueQuantity/value', '1.50']]));
    assert.equal(out.reduce((n, u) => n + u.bytes, 0), files.get('five.ndjson')!.size);
  });

  it('resumes after the lines an earlier run committed', async () => {
    const out = await units(files.get('five.ndjson.gz')!, { skipLines: 3 });
    assert.deepEqual(out.map((u) => u.lines), [[4, 5]]);
    const ids = (out[0].bundle.entry as { resource: { id: string } }[]).map((e) => e.resource.id);
    assert.deepEqual(ids, ['d', 'e']);
  });

  it('reads a gzipped JSON Bundle whole as one unit', async () => {
    const out = await units(files.get('bundle.json.gz')!);
    assert.equal(out.length, 1);
    assert.equal(out[0].entries, 1);
    assert.equal(out[0].bytes, files.get('bundle.json.gz')!.size);
  });

  it('gives no unit for a Bundle without entries', async () => {
    assert.deepEqual(await units(files.get('empty.json')!), []);
  });

  it('names the line of bad JSON, an unknown type or an unsafe key', async () => {
    await assert.rejects(units(files.get('bad-line.ndjson')!), (e: LoadError) => e.place.line === 2 && /^Invalid JSON at column 27/.test(e.reason));
    await assert.rejects(units(files.get('bad-type.ndjson')!), (e: LoadError) => e.place.line === 2 && e.reason === 'resourceType is missing');
    await assert.rejects(units(files.get('proto.ndjson')!), (e: LoadError) => e.place.line === 1 && /'__proto__' is not allowed/.test(e.reason));
  });

  it('says where a JSON file stops being JSON, and when a .gz is not gzip', async () => {
    await assert.rejects(units(files.get('bad.json')!), (e: LoadError) => /^Invalid JSON at line 2, column 11/.test(e.reason));
    await assert.rejects(units(files.get('not-gzip.json.gz')!), /not valid gzip/);
  });
});
