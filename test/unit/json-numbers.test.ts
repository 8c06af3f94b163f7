// Unit tests for src/fhir/json-numbers.ts: decimals keep the lexeme they were sent with
// (FHIR R4 datatypes.html#decimal: "0.010 is regarded as different to 0.01"). Their speed is
// measured by `npm run bench:json-numbers`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { captureNumberLexemes, stringifyPreservingNumbers } from '../../src/fhir/json-numbers.js';

const examples = dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));

function example(name: string): string {
  return readFileSync(join(examples, name), 'utf8');
}

/** Independent reference: the source text with whitespace removed and strings re-encoded. */
function minify(text: string): string {
  let out = '';
  for (const [token] of text.matchAll(/"(?:[^"\\]|\\.)*"|[^\s"]+|\s+/g)) {
    if (token.startsWith('"')) out += JSON.stringify(JSON.parse(token));
    else if (!/^\s/.test(token)) out += token;
  }
  return out;
}

function roundTrip(text: string): string {
  return stringifyPreservingNumbers(JSON.parse(text), captureNumberLexemes(text));
}

function lexemesOf(text: string): Record<string, string> | undefined {
  const lexemes = captureNumberLexemes(text);
  return lexemes && Object.fromEntries(lexemes);
}

describe('json-numbers', () => {
  describe('Observation-decimal.json (the spec example for decimal precision)', () => {
    const text = example('Observation-decimal.json');

    it('records exactly the lexemes JSON.stringify would change', () => {
      assert.deepEqual(lexemesOf(text), {
        '/component/0/valueQuantity/value': '1.0',
        '/component/1/valueQuantity/value': '1.00',
        '/component/2/valueQuantity/value': '1.0',
        '/component/3/valueQuantity/value': '1E-22',
        '/component/5/valueQuantity/value': '1.000000000000000000E-245',
        '/component/6/valueQuantity/value': '-1.000000000000000000E+245',
      });
    });

    it('round-trips every lexeme', () => {
      const out = roundTrip(text);
      for (const lexeme of ['1.0', '1.00', '1E-22', '1000000000000000000', '1.000000000000000000E-245']) {
        assert.ok(out.includes(`"value":${lexeme},`), lexeme);
      }
      assert.ok(out.includes('"value":-1.000000000000000000E+245,'));
      assert.deepEqual(JSON.parse(out), JSON.parse(text));
      assert.equal(out, minify(text));
      assert.notEqual(out, JSON.stringify(JSON.parse(text)));
    });

    it('keeps lexemes when keys are reordered', () => {
      const { resourceType, id, meta, ...rest } = JSON.parse(text);
      const reordered = { resourceType, id, meta: meta ?? { versionId: '1' }, ...rest };
      const out = stringifyPreservingNumbers(reordered, captureNumberLexemes(text));
      assert.ok(out.startsWith('{"resourceType":"Observation","id":"decimal","meta":{"versionId":"1"},'));
      assert.ok(out.includes('"value":1.00,'));
      assert.ok(out.includes('"value":1.000000000000000000E-245,'));
      assert.deepEqual(JSON.parse(out), reordered);
    });

    it('never writes a stale lexeme for a value the caller changed', () => {
      const resource = JSON.parse(text);
      resource.component[1].valueQuantity.value = 2;
      resource.component[5].valueQuantity.value = 1.5;
      const out = stringifyPreservingNumbers(resource, captureNumberLexemes(text));
      assert.ok(out.includes('"value":2,'));
      assert.ok(out.includes('"value":1.5,'));
      assert.ok(!out.includes('"value":1.00,'));
      assert.ok(!out.includes('"value":1.000000000000000000E-245'));
      assert.ok(out.includes('"value":1.0,')); // untouched siblings keep theirs
    });
  });

  it('falls back to plain numbers at paths that moved to a different value', () => {
    const text = '{"component":[{"v":2.50},{"v":3.0}]}';
    const resource = JSON.parse(text);
    resource.component.unshift({ v: 9 });
    const out = stringifyPreservingNumbers(resource, captureNumberLexemes(text));
    assert.equal(out, '{"component":[{"v":9},{"v":2.5},{"v":3}]}');
    assert.equal(out, JSON.stringify(resource));
    // The rule is value equality: a value that still equals the lexeme at its path keeps it.
    assert.equal(stringifyPreservingNumbers({ component: [{ v: 2.5 }] }, captureNumberLexemes(text)),
      '{"component":[{"v":2.50}]}');
  });

  it('compares with Object.is, so 0 is not written as -0', () => {
    const lexemes = captureNumberLexemes('{"a":-0,"b":-0.0}');
    assert.deepEqual(lexemes && Object.fromEntries(lexemes), { '/a': '-0', '/b': '-0.0' });
    assert.equal(stringifyPreservingNumbers({ a: -0, b: -0 }, lexemes), '{"a":-0,"b":-0.0}');
    assert.equal(stringifyPreservingNumbers({ a: 0, b: 0 }, lexemes), '{"a":0,"b":0}');
  });

  describe('fast path', () => {
    it('returns undefined for ordinary resources', () => {
      for (const name of ['Patient-example.json', 'Observation-example.json', 'Bundle-bundle-example.json']) {
        assert.equal(captureNumberLexemes(example(name)), undefined, name);
      }
    });

    it('returns undefined when candidates appear only inside strings', () => {
      assert.equal(captureNumberLexemes('{"a":"1.50","b":2,"c":"2020-01-01T00:00:00-05:00"}'), undefined);
      assert.equal(captureNumberLexemes('{"id":"5e3f1e23-0c4d-4e2b-9f00-1e23abcd1e22"}'), undefined);
      // These pass the pre-check; the tokenizer then finds nothing.
      assert.equal(captureNumberLexemes('{"div":"HTML 4.0 and 1E3 , -0 ]"}'), undefined);
      assert.equal(captureNumberLexemes(example('CodeSystem-v3-HtmlLinkType.json')), undefined);
    });

    it('returns JSON.stringify output when there are no lexemes', () => {
      const value = { a: 1, b: [1.5, 'x'] };
      assert.equal(stringifyPreservingNumbers(value, undefined), JSON.stringify(value));
      assert.equal(stringifyPreservingNumbers(value, new Map()), JSON.stringify(value));
    });
  });

  describe('tokenizer', () => {
    it('is not confused by string contents', () => {
      const text = String.raw`{"s":"1.50","q":"say \"2.0\", ok","u":"\u0030.10","b":"\\","k\"":{"x":[1.10]},"n":2.20}`;
      assert.deepEqual(lexemesOf(text), { '/k"/x/0': '1.10', '/n': '2.20' });
      assert.equal(roundTrip(text), text.replace(String.raw`\u0030`, '0'));
    });

    it('escapes "/" and "~" in keys (RFC 6901) and handles the empty key', () => {
      const text = '{"a/b":{"c~d":[1.0]},"~1":2.0,"":{"":3.0}}';
      assert.deepEqual(lexemesOf(text), { '/a~1b/c~0d/0': '1.0', '/~01': '2.0', '//': '3.0' });
      assert.equal(roundTrip(text), text);
    });

    it('tracks indices through nested arrays and at the top level', () => {
      const text = '[[1.0,[2.50,3]],[[-0.0]],{"a":[[],[4.0]]}]';
      assert.deepEqual(lexemesOf(text), {
        '/0/0': '1.0',
        '/0/1/0': '2.50',
        '/1/0/0': '-0.0',
        '/2/a/1/0': '4.0',
      });
      assert.equal(roundTrip(text), text);
      assert.deepEqual(lexemesOf('1.0'), { '': '1.0' });
      assert.equal(roundTrip(' 1.0 '), '1.0');
    });

    it('records only lexemes that JSON.stringify would change', () => {
      const recorded = [
        '1E3', '1e3', '1e21', '-2.50', '100.00', '-0', '0.0000001', '12345678901234567890',
        '1.23456789012345678', '1E-7', '5e+2', '1e+1',
      ];
      const plain = ['1e-7', '1e+21', '-12.5', '0.1', '0', '1000000000000000000', '0.000001', '123456789012345'];
      const text = `{"r":[${recorded.join(',')}],"p":[${plain.join(', ')}]}`;
      const expected = Object.fromEntries(recorded.map((lexeme, i) => [`/r/${i}`, lexeme]));
      assert.deepEqual(lexemesOf(text), expected);
      assert.equal(roundTrip(text), text.replace(/, /g, ','));
    });

    it('captures every changed lexeme among random numbers', () => {
      let seed = 42;
      const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
      const digits = (k: number) => Array.from({ length: k }, (_, i) => (i === 0 ? 1 + random(9) : random(10))).join('');
      const lexemes: string[] = [];
      for (let t = 0; t < 20000; t++) {
        let lexeme = random(3) === 0 ? '-' : '';
        lexeme += random(4) === 0 ? '0' : digits(1 + random(random(2) ? 4 : 24));
        if (random(2)) lexeme += `.${'0'.repeat(random(3) === 0 ? random(9) : 0)}${random(10)}${digits(random(18))}`;
        if (random(8) === 0) lexeme += `${random(2) ? 'e' : 'E'}${['', '+', '-'][random(3)]}${digits(1 + random(2))}`;
        lexemes.push(lexeme);
      }
      const text = `{"n":[${lexemes.join(',')}]}`;
      const captured = captureNumberLexemes(text) ?? new Map();
      lexemes.forEach((lexeme, i) => {
        const changed = String(Number(lexeme)) !== lexeme;
        assert.equal(captured.get(`/n/${i}`), changed ? lexeme : undefined, lexeme);
      });
      assert.equal(roundTrip(text), text);
    });
  });

  describe('JSON.stringify semantics', () => {
    const lexemes = captureNumberLexemes('{"o":{"n":1.0,"a":[1.0]}}');

    it('matches JSON.stringify for everything but the lexemes', () => {
      const value = {
        o: {
          n: 2, // changed, so no lexeme applies anywhere below
          skip: undefined,
          fn: () => 1,
          sym: Symbol('s'),
          a: [5, undefined, () => 1, Symbol('s'), NaN, -Infinity, null, true, false, , 'x'],
          s: 'quote " backslash \\ \n\t\u0001 \u2028 \ud800 \ud83d\ude00 é',
          date: new Date(0),
          boxed: [Object(1), Object('s'), Object(false)],
          nested: { deep: [{ e: {} }, []] },
          10: 'integer key first',
        },
        top: 'level',
      };
      assert.equal(stringifyPreservingNumbers(value, lexemes), JSON.stringify(value));
      assert.equal(stringifyPreservingNumbers({ o: { n: 1, a: [1] } }, lexemes), '{"o":{"n":1.0,"a":[1.0]}}');
    });

    it('handles primitives and undefined at the top level like JSON.stringify', () => {
      for (const value of [undefined, null, 1, 'x', true, () => 1]) {
        assert.equal(stringifyPreservingNumbers(value, lexemes), JSON.stringify(value));
      }
    });

    it('throws the TypeError JSON.stringify throws for circular structures', () => {
      const value: { o: { n: number; self?: unknown } } = { o: { n: 1 } };
      value.o.self = value;
      assert.throws(() => stringifyPreservingNumbers(value, lexemes), TypeError);
    });
  });

  it('equals the minified source for spec examples, and JSON.stringify when nothing is recorded', () => {
    const names = [
      'Patient-example.json', 'Observation-example.json', 'Bundle-bundle-example.json',
      'Questionnaire-f201.json', 'Claim-100151.json', 'Bundle-lipids.json', 'Observation-blood-pressure.json',
      'Observation-vitals-panel.json', 'MedicationRequest-medrx0301.json', 'ValueSet-example-expansion.json',
      'CodeSystem-v3-HtmlLinkType.json', 'Observation-656.json', 'Observation-f005.json',
    ];
    for (const name of names) {
      const text = example(name);
      const lexemes = captureNumberLexemes(text);
      const out = stringifyPreservingNumbers(JSON.parse(text), lexemes);
      assert.equal(out, minify(text), name);
      if (lexemes === undefined) assert.equal(out, JSON.stringify(JSON.parse(text)), name);
    }
  });
});
