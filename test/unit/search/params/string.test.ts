// Unit tests for src/search/params/string.ts (FHIR R4 search.html#string, #modifiers, #escaping).
import assert from 'node:assert/strict';
import { normalizeText } from '../../../../src/search/params/shared.js';
import { prefixEntries, prefixKey, PREFIX_LENGTHS, regexLiteral, stringParam, type StringValue } from '../../../../src/search/params/string.js';
import type { SearchIndex } from '../../../../src/search/types.js';
import { assertBadRequest, assertOnlyPlaceholders, paramDef, TestBinds } from './support.js';

const name = paramDef('name', 'string');
const address = paramDef('address', 'string');

function indexOf(values: unknown[], def = name): SearchIndex {
  const into: SearchIndex = {};
  stringParam.index(def, values, into);
  return into;
}

const parse = (raw: string, modifier?: string) => stringParam.parse(name, modifier, raw);

function matches(index: SearchIndex, modifier: string | undefined, raws: string[]): boolean {
  const values: StringValue[] = modifier === 'missing' ? raws.map((raw) => ({ raw })) : raws.map((raw) => parse(raw, modifier));
  return stringParam.matches(name, modifier, values, index);
}

function sql(modifier: string | undefined, raws: string[]) {
  const binds = new TestBinds();
  const text = stringParam.predicate(name, modifier, raws.map((raw) => parse(raw, modifier)), 'r.sp', binds);
  return { text, binds: binds.values };
}

describe('string parameters', () => {
  it('normalizes case, accents and whitespace', () => {
    assert.equal(normalizeText('  Ångström\tMÜLLER  Zoë '), 'angstrom muller zoe');
    assert.equal(normalizeText('İstanbul ÇAĞ'), 'istanbul cag');
    assert.equal(normalizeText('Straße'), 'straße');
  });

  describe('index', () => {
    it('indexes every part of a HumanName, normalized and as written', () => {
      const human = { use: 'official', family: 'Müller', given: ['Zoë', 'Anne'], prefix: ['Dr.'], suffix: ['PhD'], text: 'Dr. Zoë  Müller' };
      assert.deepEqual(indexOf([human]), {
        name: ['muller', 'zoe', 'anne', 'dr.', 'phd', 'dr. zoe muller'],
        'name:exact': ['Müller', 'Zoë', 'Anne', 'Dr.', 'PhD', 'Dr. Zoë  Müller'],
        'name:prefix': ['mu', 'mul', 'mull', 'muller', 'zo', 'zoe', 'an', 'ann', 'anne', 'dr', 'dr.', 'ph', 'phd', 'dr. ', 'dr. zo', 'dr. zoe '],
      });
    });

    it('stores prefixes of 2, 3, 4, 6 and 8 characters, counted in code points', () => {
      assert.deepEqual(prefixEntries('abcdefghij'), ['ab', 'abc', 'abcd', 'abcdef', 'abcdefgh']);
      assert.deepEqual(prefixEntries('a'), []);
      assert.deepEqual(prefixEntries('😀😀x'), ['😀😀', '😀😀x']);
      assert.deepEqual(PREFIX_LENGTHS, [2, 3, 4, 6, 8]);
    });

    it('indexes the parts of an Address and plain strings', () => {
      const home = { line: ['1 Rue de l’Église'], city: 'Besançon', postalCode: '25000', country: 'FR', use: 'home' };
      assert.deepEqual(indexOf([home, 'Extra'], address).address, ['1 rue de l’eglise', 'besancon', '25000', 'fr', 'extra']);
    });

    it('skips empty strings, duplicates and unknown shapes', () => {
      assert.deepEqual(indexOf(['', '   ', 'a', 'a', 42, null]), { name: ['a'], 'name:exact': ['   ', 'a'] });
      assert.deepEqual(indexOf(['ab', 'AB', 'abc']), { name: ['ab', 'abc'], 'name:exact': ['ab', 'AB', 'abc'], 'name:prefix': ['ab', 'abc'] });
    });
  });

  describe('parse', () => {
    it('normalizes default and :contains values, keeps :exact values as given', () => {
      assert.equal(parse('  MÜLLER ').text, 'muller');
      assert.equal(parse('Ström', 'contains').text, 'strom');
      assert.equal(parse('Müller ', 'exact').text, 'Müller ');
    });

    it('unescapes \\, \\| \\$ and \\\\', () => {
      assert.equal(parse('a\\,b\\|c\\$d\\\\e', 'exact').text, 'a,b|c$d\\e');
    });

    it('refuses empty values, bad modifiers and bad characters with a 400', () => {
      assertBadRequest(() => parse(''), 'name', /value is required/);
      assertBadRequest(() => parse('   '), 'name');
      assertBadRequest(() => parse('', 'exact'), 'name:exact');
      assertBadRequest(() => parse('x', 'text'), 'name:text', /not valid/);
      assertBadRequest(() => parse('x\uD800'), 'name', /invalid characters/);
      assertBadRequest(() => parse('no', 'missing'), 'name:missing');
    });
  });

  describe('predicate', () => {
    it('default: an indexable containment on the longest stored prefix, then jsonpath starts with', () => {
      const { text, binds } = sql(undefined, ["O'Bri", 'Sm"i']);
      assert.equal(text, `((r.sp @> $1::jsonb OR r.sp @> $2::jsonb) AND jsonb_path_exists(r.sp, '$."name"[*] ? (@ starts with $v0 || @ starts with $v1)', $3::jsonb))`);
      assert.deepEqual(JSON.parse(binds[0] as string), { 'name:prefix': ["o'br"] });
      assert.deepEqual(JSON.parse(binds[1] as string), { 'name:prefix': ['sm"i'] });
      assert.deepEqual(JSON.parse(binds[2] as string), { v0: "o'bri", v1: 'sm"i' });
    });

    it('default: values of a stored length are answered by the containment alone', () => {
      const { text, binds } = sql(undefined, ['Smi', 'jo']);
      assert.equal(text, '(r.sp @> $1::jsonb OR r.sp @> $2::jsonb)');
      assert.deepEqual(binds.map((b) => JSON.parse(b as string)), [{ 'name:prefix': ['smi'] }, { 'name:prefix': ['jo'] }]);
    });

    it('default: the lookup prefix is the longest stored length not above the value', () => {
      assert.equal(prefixKey('smithson'), 'smithson');
      assert.equal(prefixKey('smithsonian'), 'smithson');
      assert.equal(prefixKey('smith'), 'smit');
      assert.equal(prefixKey('sm'), 'sm');
      assert.equal(prefixKey('s'), undefined);
    });

    it('default: a one-character value has no prefix entry to look up, only starts with', () => {
      const { text } = sql(undefined, ['s', 'smith']);
      assert.equal(text, `jsonb_path_exists(r.sp, '$."name"[*] ? (@ starts with $v0 || @ starts with $v1)', $1::jsonb)`);
    });

    it(':exact: containment on the exact key', () => {
      const { text, binds } = sql('exact', ['Müller']);
      assert.equal(text, '(r.sp @> $1::jsonb)');
      assert.deepEqual(JSON.parse(binds[0] as string), { 'name:exact': ['Müller'] });
    });

    it(':contains: the whole jsonpath is bound, with an escaped regex', () => {
      const { text, binds } = sql('contains', ['a.b*(c)', 'x"y\\\\z']);
      assert.equal(text, 'jsonb_path_exists(r.sp, $1::jsonpath)');
      assert.equal(binds[0], '$."name"[*] ? (@ like_regex "a\\\\.b\\\\*\\\\(c\\\\)" || @ like_regex "x\\\\\\"y\\\\\\\\z")');
    });

    it('never puts a user value into the SQL text', () => {
      const hostile = `Robert'); DROP TABLE students;--"`;
      for (const modifier of [undefined, 'exact', 'contains']) {
        const { text } = sql(modifier, [hostile]);
        assertOnlyPlaceholders(text, [hostile, 'robert', 'Robert', 'DROP', 'students']);
      }
    });

    it(':missing', () => {
      const text = stringParam.predicate(name, 'missing', [{ raw: 'true' }], 'r.sp', new TestBinds());
      assert.equal(text, `NOT COALESCE((jsonb_path_exists(r.sp, '$."name"[*]')), false)`);
    });
  });

  it('regexLiteral escapes ASCII punctuation only', () => {
    assert.equal(regexLiteral('a.b*c(d)[e]{f}^$|+?\\/'), 'a\\.b\\*c\\(d\\)\\[e\\]\\{f\\}\\^\\$\\|\\+\\?\\\\\\/');
    assert.equal(regexLiteral('zoë 42 日本'), 'zoë 42 日本');
  });

  describe('matches', () => {
    const index = indexOf([{ family: 'Müller-Lüdenscheidt', given: ['Zoë'] }, 'a.b*(c)']);

    it('default: case- and accent-insensitive prefix of any part', () => {
      assert.equal(matches(index, undefined, ['muller']), true);
      assert.equal(matches(index, undefined, ['MÜLLER-LÜ']), true);
      assert.equal(matches(index, undefined, ['zoe']), true);
      assert.equal(matches(index, undefined, ['ludenscheidt']), false);
      assert.equal(matches(index, undefined, ['nope', 'ZO']), true, 'comma is OR');
      assert.equal(matches(index, undefined, ['a.b*']), true);
    });

    it(':contains and :exact', () => {
      assert.equal(matches(index, 'contains', ['ludensch']), true);
      assert.equal(matches(index, 'contains', ['b*(']), true);
      assert.equal(matches(index, 'contains', ['b*c']), false);
      assert.equal(matches(index, 'exact', ['Zoë']), true);
      assert.equal(matches(index, 'exact', ['zoë']), false);
      assert.equal(matches(index, 'exact', ['Zoe']), false);
    });

    it(':missing', () => {
      assert.equal(matches(index, 'missing', ['false']), true);
      assert.equal(matches(indexOf([{ use: 'official' }]), 'missing', ['true']), true);
    });
  });
});
